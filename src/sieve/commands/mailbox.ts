/** mailboxexists (RFC 5490 §3.1) against the mailbox names the environment gives. */
import { arg, type TestDef } from "../definition.js";

export const MAILBOX_TESTS: TestDef[] = [
  {
    kind: "test",
    name: "mailboxexists",
    extension: "mailbox",
    signature: { positional: [{ name: "mailbox names", type: "string-list" }] },
    evaluate: (rt, node) => {
      const known = rt.env.mailboxes ?? [];
      return rt
        .expandList(arg<string[]>(node.args, 0))
        .every((name) =>
          known.some((m) => m === name || (m.toUpperCase() === "INBOX" && name.toUpperCase() === "INBOX")),
        );
    },
  },
];
