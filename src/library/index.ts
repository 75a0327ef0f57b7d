// The package's main entry (`import { createServer } from "mailroom-server"`): a whole mailroom
// embedded in another program. The protocol engines are published beside it as subpaths: ./smtp,
// ./imap, ./pop3 and ./store (see package.json "exports" and README "mailroom as a library").

export { LISTENER_NAMES } from "../config/defaults.js";
export type { Config, ListenerName } from "../config/types.js";
export type { Metrics } from "../metrics/metrics.js";
export { type CreateServerOptions, createServer, type MailroomServer } from "../server/embed.js";
export type { RunningServer } from "../server/server.js";
