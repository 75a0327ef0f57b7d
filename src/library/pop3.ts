// `mailroom-server/pop3`: the sans-IO POP3 engine (RFC 1939): line reader, command parser and session.

export { type Pop3Command, parseCommand } from "../pop3/command.js";
export { type LineItem, LineReader } from "../pop3/line-reader.js";
export { type Pop3Result, Pop3Session, type Pop3SessionOptions } from "../pop3/session.js";
