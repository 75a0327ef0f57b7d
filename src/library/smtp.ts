// `mailroom-server/smtp`: the SMTP client (connectSmtp — TLS, AUTH, pipelining, DSN parameters) and the
// sans-IO server session, which takes lines and body bytes and answers replies and effects, with the
// DeliveryAgent it asks about senders, recipients and the accepted message.

export type * from "../delivery/types.js";
export { connectSmtp } from "../smtp/client/client.js";
export * from "../smtp/client/types.js";
export { parsePath } from "../smtp/protocol/address.js";
export { DataDecoder } from "../smtp/protocol/data-decoder.js";
export {
  type SessionOutput,
  SmtpSession,
  type SmtpSessionEvents,
  type SmtpSessionOptions,
  type TlsInfo,
} from "../smtp/server/session.js";
