// A strict reader of the Prometheus text exposition format 0.0.4, for tests: it throws on anything a
// Prometheus server would reject or misread (a sample before its TYPE, bad label syntax, histogram
// buckets out of order or not cumulative, a histogram without _sum, _count or the +Inf bucket).

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(text: string, line: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value in: ${line}`);
  return Number(text);
}

/** Reads `{a="x",b="y"}` from `text` at `start` (the "{"); returns the labels and the index after "}". */
function parseLabels(text: string, start: number, line: string): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = start + 1;
  while (text[i] !== "}") {
    const eq = text.indexOf("=", i);
    if (eq === -1) throw new Error(`label without "=" in: ${line}`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name ${JSON.stringify(name)} in: ${line}`);
    if (name in labels) throw new Error(`label ${name} twice in: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted in: ${line}`);
    let value = "";
    let j = eq + 2;
    for (;;) {
      const char = text[j];
      if (char === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (char === '"') break;
      if (char === "\n") throw new Error(`raw line feed in a label value: ${line}`);
      if (char === "\\") {
        const next = text[j + 1];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`bad escape \\${next} in: ${line}`);
        j += 2;
        continue;
      }
      value += char;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new Error(`expected "," or "}" after a label in: ${line}`);
  }
  return [labels, i + 1];
}

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(sample);
  if (direct) return direct;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!sample.endsWith(suffix)) continue;
    const family = families.get(sample.slice(0, -suffix.length));
    if (family && (family.type === "histogram" || family.type === "summary")) return family;
  }
  return undefined;
}

function withoutLe(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).filter(([name]) => name !== "le"));
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const sample of family.samples) {
    const key = withoutLe(sample.labels);
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name === `${family.name}_bucket`) {
      const le = sample.labels.le;
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`);
      group.buckets.push([parseValue(le, le), sample.value]);
    } else if (sample.name === `${family.name}_sum`) group.sum = sample.value;
    else if (sample.name === `${family.name}_count`) group.count = sample.value;
    else throw new Error(`${family.name}: unexpected sample ${sample.name}`);
  }
  for (const [key, group] of groups) {
    if (group.sum === undefined || group.count === undefined)
      throw new Error(`${family.name}${key}: _sum or _count missing`);
    const last = group.buckets.at(-1);
    if (last?.[0] !== Number.POSITIVE_INFINITY) throw new Error(`${family.name}${key}: no +Inf bucket last`);
    if (last[1] !== group.count) throw new Error(`${family.name}${key}: +Inf bucket is not _count`);
    for (let i = 1; i < group.buckets.length; i++) {
      const [bound, count] = group.buckets[i] as [number, number];
      const [previousBound, previousCount] = group.buckets[i - 1] as [number, number];
      if (!(bound > previousBound)) throw new Error(`${family.name}${key}: bucket bounds not increasing`);
      if (count < previousCount) throw new Error(`${family.name}${key}: bucket counts not cumulative`);
    }
  }
}

export function parseExposition(text: string): Map<string, Family> {
  if (text !== "" && !text.endsWith("\n")) throw new Error("the exposition does not end with a line feed");
  const families = new Map<string, Family>();
  const helpSeen = new Set<string>();
  for (const line of text.split("\n").slice(0, -1)) {
    if (line === "") continue;
    const comment = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
    if (comment) {
      const [, kind, name, rest] = comment as unknown as [string, string, string, string];
      if (kind === "TYPE") {
        if (families.has(name)) throw new Error(`TYPE of ${name} given twice or after its samples`);
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest))
          throw new Error(`unknown type in: ${line}`);
        families.set(name, { name, help: "", type: rest as Family["type"], samples: [] });
      } else {
        if (helpSeen.has(name)) throw new Error(`HELP of ${name} given twice`);
        helpSeen.add(name);
      }
      continue;
    }
    if (line.startsWith("#")) continue;
    const nameMatch = new RegExp(`^${NAME}`).exec(line);
    if (!nameMatch) throw new Error(`bad sample line: ${line}`);
    const name = nameMatch[0];
    let labels: Record<string, string> = {};
    let rest = nameMatch[0].length;
    if (line[rest] === "{") [labels, rest] = parseLabels(line, rest, line);
    const fields = line.slice(rest).trim().split(" ");
    if (line[rest] !== " " || fields.length < 1 || fields.length > 2)
      throw new Error(`bad sample line: ${line}`);
    const family = familyOf(name, families);
    if (!family) throw new Error(`sample ${name} before any TYPE line for it`);
    family.samples.push({ name, labels, value: parseValue(fields[0] ?? "", line) });
  }
  for (const family of families.values()) {
    if (!helpSeen.has(family.name)) throw new Error(`${family.name} has no HELP line`);
    if (family.type === "histogram") checkHistogram(family);
  }
  // HELP text is kept for assertions: read it again now that the families exist.
  for (const line of text.split("\n")) {
    const help = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    const family = help ? families.get(help[1] as string) : undefined;
    if (family && help)
      family.help = (help[2] as string).replace(/\\(\\|n)/g, (_, c: string) => (c === "n" ? "\n" : "\\"));
  }
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`; throws when none or several. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const all = [...families.values()].flatMap((family) => family.samples);
  const found = all.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v),
  );
  if (found.length !== 1)
    throw new Error(`${found.length} samples of ${name} with ${JSON.stringify(labels)}`);
  return (found[0] as Sample).value;
}
