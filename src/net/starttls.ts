// Server side of STARTTLS (SMTP RFC 3207, POP3 STLS RFC 2595, IMAP STARTTLS RFC 9051 §6.2.1): wraps an
// established plaintext socket in TLS. The caller must have stopped reading from the plain socket and
// discarded anything the client sent after the command, so no plaintext can be injected into the TLS
// session (RFC 3207 §4.2, the 2011 STARTTLS command-injection class of bugs).

import type { Socket } from "node:net";
import { type SecureContext, TLSSocket } from "node:tls";

/** Resolves once the handshake completes; rejects (and destroys the socket) if it fails or stalls. */
export function upgradeToTls(
  socket: Socket,
  secureContext: SecureContext,
  timeoutMs = 30_000,
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = new TLSSocket(socket, { isServer: true, secureContext });
    const timer = setTimeout(() => fail(new Error("TLS handshake timed out")), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.off("close", closedEarly);
      secure.destroy();
      reject(error);
    };
    // A client that hangs up mid-handshake makes the TLS socket emit nothing; the plain one says so.
    const closedEarly = () => fail(new Error("connection closed during the TLS handshake"));
    socket.once("close", closedEarly);
    secure.once("secure", () => {
      clearTimeout(timer);
      socket.off("close", closedEarly);
      secure.off("error", fail);
      resolve(secure);
    });
    secure.once("error", fail);
  });
}
