// Back-pressure for protocol adapters: after socket.write() returns false, wait until the socket drains
// (or closes) before writing more, so a slow reader cannot make the server buffer a mailbox in memory.

import type { Socket } from "node:net";

export function whenWritable(socket: Socket): Promise<void> {
  if (socket.destroyed || !socket.writable) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.once("drain", done);
    socket.once("close", done);
  });
}
