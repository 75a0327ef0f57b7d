// Which protocol serves which listener. A listener whose name has no factory here is not opened, so a
// protocol joins the server by registering its factory in this one place. The IMAP and POP3 limits
// come from the configuration here, so the handlers themselves know nothing of config files.

import { defaultImapConfig, defaultPop3Config } from "../config/defaults.js";
import type { ListenerName } from "../config/types.js";
import { createHttpHandler } from "../http/handler.js";
import { createImapHandler } from "../imap/handler.js";
import { manageSieveFromConfig } from "../managesieve/handler.js";
import { metricsProtocol } from "../metrics/handler.js";
import { createPop3Handler } from "../pop3/handler.js";
import { smtpProtocol } from "../smtp/server/handler.js";
import type { ProtocolFactory } from "./deps.js";

const imapFromConfig: ProtocolFactory = (listener, deps) => {
  if (listener !== "imap" && listener !== "imaps") {
    throw new Error(`the IMAP protocol cannot serve the "${listener}" listener; use "imap" or "imaps"`);
  }
  const limits = deps.config.imap ?? defaultImapConfig();
  return createImapHandler(listener, deps, {
    idleTimeoutMs: limits.idleTimeout,
    maxErrors: limits.maxErrors,
    maxLineLength: limits.maxLineLength,
    maxLiteralSize: limits.maxLiteralSize,
    maxUpdateContexts: limits.maxUpdateContexts,
    metadataLimits: { maxSize: limits.metadataMaxSize, maxEntries: limits.metadataMaxEntries },
    notifyMaxPending: limits.notifyMaxPending,
  });
};

const pop3FromConfig: ProtocolFactory = (listener, deps) => {
  if (listener !== "pop3" && listener !== "pop3s") {
    throw new Error(`the POP3 protocol cannot serve the "${listener}" listener; use "pop3" or "pop3s"`);
  }
  const limits = deps.config.pop3 ?? defaultPop3Config();
  return createPop3Handler(listener, deps, {
    idleTimeoutMs: limits.idleTimeout,
    maxErrors: limits.maxErrors,
    maxLineLength: limits.maxLineLength,
    maxSaslLineLength: limits.maxSaslLineLength,
  });
};

const httpFromConfig: ProtocolFactory = (listener, deps) => {
  if (listener !== "http" && listener !== "https") {
    throw new Error(`the HTTP protocol cannot serve the "${listener}" listener; use "http" or "https"`);
  }
  return createHttpHandler(listener, deps);
};

export const protocols: Partial<Record<ListenerName, ProtocolFactory>> = {
  smtp: smtpProtocol,
  submission: smtpProtocol,
  submissions: smtpProtocol,
  pop3: pop3FromConfig,
  pop3s: pop3FromConfig,
  imap: imapFromConfig,
  imaps: imapFromConfig,
  http: httpFromConfig,
  https: httpFromConfig,
  managesieve: manageSieveFromConfig,
  metrics: metricsProtocol,
};
