// Which protocol serves which listener. A listener whose name has no factory here is not opened, so a
// protocol joins the server by registering its factory in this one place.

import type { ListenerName } from "../config/types.js";
import { imapProtocol } from "../imap/handler.js";
import { pop3Protocol } from "../pop3/handler.js";
import { smtpProtocol } from "../smtp/server/handler.js";
import type { ProtocolFactory } from "./deps.js";

export const protocols: Partial<Record<ListenerName, ProtocolFactory>> = {
  smtp: smtpProtocol,
  submission: smtpProtocol,
  submissions: smtpProtocol,
  pop3: pop3Protocol,
  pop3s: pop3Protocol,
  imap: imapProtocol,
  imaps: imapProtocol,
};
