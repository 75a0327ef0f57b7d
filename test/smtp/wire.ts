// A minimal SMTP client side for tests over real sockets: reads complete (multi-line) replies.

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";

export class ReplyReader {
  private buffer = "";
  private waiters: Array<(reply: string) => void> = [];
  private stream: Socket | TLSSocket | null = null;
  private readonly onData = (data: Buffer) => {
    this.buffer += data.toString("utf8");
    this.deliver();
  };

  constructor(stream: Socket | TLSSocket) {
    this.attach(stream);
  }

  attach(stream: Socket | TLSSocket): void {
    this.stream?.off("data", this.onData);
    this.stream = stream;
    stream.on("data", this.onData);
  }

  /** The next complete reply, all its lines. */
  next(): Promise<string> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.deliver();
    });
  }

  /** What arrived but was not taken as a reply yet. */
  get pending(): string {
    return this.buffer;
  }

  private deliver(): void {
    while (this.waiters.length > 0) {
      const match = /^(?:\d{3}-[^\n]*\n)*\d{3} [^\n]*\n/.exec(this.buffer);
      if (match === null) return;
      this.buffer = this.buffer.slice(match[0].length);
      this.waiters.shift()!(match[0]);
    }
  }
}
