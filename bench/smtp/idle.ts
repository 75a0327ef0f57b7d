// Opens many SMTP connections that stay idle after the greeting, for the memory-per-connection figure.
import net from "node:net";

export interface IdleConnections {
  /** Connections that received a 220 greeting and are being held open. */
  open: number;
  /** What went wrong for the others, e.g. "421 4.7.0 too many connections" → count. */
  problems: Record<string, number>;
  close(): void;
}

/** Connections are opened in batches so the listen backlog is not the thing being measured. */
const BATCH = 50;

function greet(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let received = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no greeting within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.setEncoding("latin1");
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("closed before the greeting")));
    socket.on("data", (chunk: string) => {
      received += chunk;
      // The greeting may be multi-line (RFC 5321 §4.2); its last line has a space after the code.
      const last = /^(\d{3}) .*\r?\n/m.exec(received);
      if (!last) {
        if (received.length > 4096) fail(new Error("greeting longer than 4096 bytes"));
        return;
      }
      clearTimeout(timer);
      socket.removeAllListeners("data");
      socket.removeAllListeners("close");
      if (last[1] !== "220") {
        fail(new Error(last[0].trim()));
        return;
      }
      // Held open from here on; a later error (server shutting down) must not crash the bench.
      socket.removeAllListeners("error");
      socket.on("error", () => undefined);
      resolve(socket);
    });
  });
}

export async function openIdleConnections(
  host: string,
  port: number,
  count: number,
  timeoutMs: number,
): Promise<IdleConnections> {
  const sockets: net.Socket[] = [];
  const problems: Record<string, number> = {};
  for (let start = 0; start < count; start += BATCH) {
    const size = Math.min(BATCH, count - start);
    const results = await Promise.allSettled(
      Array.from({ length: size }, () => greet(host, port, timeoutMs)),
    );
    for (const result of results) {
      if (result.status === "fulfilled") sockets.push(result.value);
      else {
        const reason = result.reason instanceof Error ? result.reason.message : String(result.reason);
        problems[reason] = (problems[reason] ?? 0) + 1;
      }
    }
  }
  return {
    open: sockets.length,
    problems,
    close: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}
