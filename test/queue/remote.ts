// A scripted remote MX for relay tests: a node:net SMTP server on loopback whose replies come from a
// script, so a test can make it accept, defer, refuse, drop the connection mid-DATA or stall.

import { createServer, type Socket } from "node:net";

export interface RemoteTransaction {
  from: string;
  to: string[];
  /** The MAIL command line as sent, parameters included. */
  mail: string;
  /** The message as received, dot-stuffing undone, without the terminating ".". */
  body: Buffer;
  /** Which connection (1-based) carried it. */
  connection: number;
}

/** A reply line, "drop" (close mid-DATA), "hang" (never reply), or a reply sent after a stall. */
export type DataEnd = string | "drop" | "hang" | { reply: string; afterMs: number };

export interface RemoteScript {
  /** EHLO keywords after the first line. */
  extensions?: string[];
  /** The reply line to RCPT TO for an address; "250 2.1.5 Ok" when absent. */
  rcpt?: (address: string, attempt: number) => string;
  /** The reply to the final dot. */
  dataEnd?: (transaction: RemoteTransaction, attempt: number) => DataEnd;
}

export interface Remote {
  port: number;
  transactions: RemoteTransaction[];
  /** Connections accepted so far. */
  connections(): number;
  /** Resolves when a DATA body has started arriving. */
  dataStarted(): Promise<void>;
  close(): Promise<void>;
}

export function startRemote(script: RemoteScript = {}, host = "127.0.0.1"): Promise<Remote> {
  const transactions: RemoteTransaction[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let rcptAttempts = 0;
  let dataAttempts = 0;
  let onDataStart: (() => void) | null = null;
  let dataStartedFlag = false;

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const connection = ++connections;
    let buffer = Buffer.alloc(0);
    let inData = false;
    let from = "";
    let mail = "";
    let to: string[] = [];
    let attempt = 0;
    const say = (line: string): void => {
      if (!socket.destroyed) socket.write(`${line}\r\n`);
    };
    say("220 remote.test ESMTP scripted");
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (inData) {
          if (!dataStartedFlag && buffer.length > 0) {
            dataStartedFlag = true;
            onDataStart?.();
          }
          const end = buffer.indexOf("\r\n.\r\n");
          const transaction: RemoteTransaction = { from, to, mail, body: Buffer.alloc(0), connection };
          if (end === -1) {
            if (script.dataEnd && buffer.length > 0) {
              if (script.dataEnd(transaction, attempt) === "drop") {
                socket.destroy();
                return;
              }
            }
            return;
          }
          const raw = buffer.subarray(0, end + 2).toString("latin1");
          buffer = buffer.subarray(end + 5);
          inData = false;
          transaction.body = Buffer.from(raw.replace(/^\./gm, ""), "latin1");
          const scripted = script.dataEnd ? script.dataEnd(transaction, attempt) : "250 2.0.0 Ok: queued";
          if (typeof scripted === "object") {
            // The client sends nothing more until this reply, so the loop has nothing left to read.
            const timer = setTimeout(() => {
              if (scripted.reply.startsWith("2")) transactions.push(transaction);
              say(scripted.reply);
            }, scripted.afterMs);
            socket.once("close", () => clearTimeout(timer));
            from = "";
            to = [];
            continue;
          }
          const reply = scripted;
          if (reply === "hang") return;
          if (reply === "drop") {
            socket.destroy();
            return;
          }
          if (reply.startsWith("2")) transactions.push(transaction);
          say(reply);
          from = "";
          to = [];
          continue;
        }
        const eol = buffer.indexOf("\r\n");
        if (eol === -1) return;
        const line = buffer.subarray(0, eol).toString("utf8");
        buffer = buffer.subarray(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") {
          const lines = [
            "remote.test",
            ...(script.extensions ?? ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"]),
          ];
          for (const [i, text] of lines.entries()) say(`250${i === lines.length - 1 ? " " : "-"}${text}`);
        } else if (verb === "HELO") say("250 remote.test");
        else if (verb === "MAIL") {
          from = /<([^>]*)>/.exec(line)?.[1] ?? "";
          mail = line;
          to = [];
          say("250 2.1.0 Ok");
        } else if (verb === "RCPT") {
          const address = /<([^>]*)>/.exec(line)?.[1] ?? "";
          const reply = script.rcpt ? script.rcpt(address, ++rcptAttempts) : "250 2.1.5 Ok";
          if (reply.startsWith("2")) to.push(address);
          say(reply);
        } else if (verb === "DATA") {
          if (to.length === 0) say("554 5.5.1 No valid recipients");
          else {
            inData = true;
            attempt = ++dataAttempts;
            say("354 End data with <CR><LF>.<CR><LF>");
          }
        } else if (verb === "RSET") {
          from = "";
          to = [];
          say("250 2.0.0 Ok");
        } else if (verb === "NOOP") say("250 2.0.0 Ok");
        else if (verb === "QUIT") {
          say("221 2.0.0 Bye");
          socket.end();
        } else say("502 5.5.2 Command not recognised");
      }
    });
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({
        port,
        transactions,
        connections: () => connections,
        dataStarted: () =>
          dataStartedFlag
            ? Promise.resolve()
            : new Promise<void>((done) => {
                onDataStart = done;
              }),
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
