// A counting SMTP sink standing in for a remote MX: it accepts every transaction, holds the reply to the
// final dot for a while (so deliveries are in flight when a node is killed), and counts each message by
// its Message-ID only once the 250 was written to a connection that was still open.

import { createServer, type Socket } from "node:net";

export interface CountingSink {
  port: number;
  /** Message-ID → times a 250 was given for it. */
  delivered: Map<string, number>;
  /** Total 250 replies to a final dot. */
  total(): number;
  close(): Promise<void>;
}

/** Bytes a transaction may hold before the sink drops the connection: bounds a broken client. */
const MAX_TRANSACTION_BYTES = 1024 * 1024;

export function startCountingSink(options: { replyDelayMs: number }): Promise<CountingSink> {
  const delivered = new Map<string, number>();
  const sockets = new Set<Socket>();
  let total = 0;

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffer = Buffer.alloc(0);
    let inData = false;
    const say = (line: string) => {
      if (!socket.destroyed) socket.write(`${line}\r\n`);
    };
    say("220 sink.remote.test ESMTP counting sink");
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length > MAX_TRANSACTION_BYTES) {
        socket.destroy();
        return;
      }
      for (;;) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end === -1) return;
          const message = buffer.subarray(0, end + 2).toString("latin1");
          buffer = buffer.subarray(end + 5);
          inData = false;
          const id = /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(message)?.[1] ?? "(none)";
          setTimeout(() => {
            if (socket.destroyed || !socket.writable) return;
            say("250 2.0.0 accepted");
            total += 1;
            delivered.set(id, (delivered.get(id) ?? 0) + 1);
          }, options.replyDelayMs);
          continue;
        }
        const newline = buffer.indexOf("\r\n");
        if (newline === -1) return;
        const line = buffer.subarray(0, newline).toString("latin1");
        buffer = buffer.subarray(newline + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") say("250-sink.remote.test\r\n250-8BITMIME\r\n250 PIPELINING");
        else if (verb === "DATA") {
          say("354 go ahead");
          inData = true;
        } else if (verb === "QUIT") {
          say("221 bye");
          socket.end();
          return;
        } else say("250 2.0.0 ok");
      }
    });
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({
        port,
        delivered,
        total: () => total,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
