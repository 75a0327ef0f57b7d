// Memory figures read from /proc (Linux only): VmRSS/VmHWM from status, Pss from smaps_rollup.
import { readdir, readFile, writeFile } from "node:fs/promises";

export interface ProcessMemory {
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak resident set size since start, bytes. */
  hwm: number;
}

function statusField(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  if (!match?.[1]) throw new Error(`no ${field} in /proc status`);
  return Number(match[1]) * 1024;
}

export async function readProcessMemory(pid: number): Promise<ProcessMemory> {
  const status = await readFile(`/proc/${pid}/status`, "latin1");
  return { rss: statusField(status, "VmRSS"), hwm: statusField(status, "VmHWM") };
}

/**
 * Proportional set size, bytes: shared pages divided among the processes sharing them. Summing RSS over
 * forked workers counts shared libraries and copy-on-write pages once per process; Pss does not.
 */
export async function readProcessPss(pid: number): Promise<number> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, "latin1");
  return statusField(rollup, "Pss");
}

/** Processes whose parent is `parentPid` (one level; Postfix's master forks all its services directly). */
export async function childPids(parentPid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "latin1");
      // The command name in parentheses may contain spaces; fields after it are positional.
      const afterName = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(afterName[1]) === parentPid) children.push(Number(entry));
    } catch {
      // The process exited between readdir and readFile.
    }
  }
  return children;
}

export interface GroupMemory {
  processes: number;
  rss: number;
  pss: number;
}

/** Sum of RSS and Pss over a set of processes; ones that exit mid-read are skipped. */
export async function sumMemory(pids: readonly number[]): Promise<GroupMemory> {
  const total: GroupMemory = { processes: 0, rss: 0, pss: 0 };
  for (const pid of pids) {
    try {
      const [memory, pss] = await Promise.all([readProcessMemory(pid), readProcessPss(pid)]);
      total.processes += 1;
      total.rss += memory.rss;
      total.pss += pss;
    } catch {
      // Exited while being read.
    }
  }
  return total;
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0, /proc/PID/clear_refs value 5; needs the same user or root). */
export async function resetPeakMemory(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, "5");
}
