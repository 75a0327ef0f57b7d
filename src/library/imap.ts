// `mailroom-server/imap`: the sans-IO IMAP4rev2 engine — the framer that cuts bytes into command lines
// and literals, the command parser, the session state machine over a store — and modified UTF-7.

export { parseCommand } from "../imap/protocol/command.js";
export {
  type CommandFrame,
  CommandFramer,
  type FrameItem,
  type FramerLimits,
} from "../imap/protocol/framer.js";
export { decodeMailboxUtf7, encodeMailboxUtf7 } from "../imap/protocol/utf7.js";
export { type ImapResult, ImapSession, type ImapSessionOptions } from "../imap/session.js";
