// Where BURL (RFC 4468) reads from: this server's own IMAP store, through the rules IMAP URLFETCH and
// CATENATE use (src/imap/url-access.ts), as the submission server acting for the logged-in user — so
// "submit+user" URLAUTH URLs, and plain URLs of the user's own mailboxes, resolve here.

import { locateUrl, readUrl, type UrlStore, UrlUnavailable } from "../../imap/url-access.js";
import type { BurlSource } from "./session.js";

export function storeBurlSource(store: UrlStore, hostname: string): BurlSource {
  return {
    async fetch(user, url) {
      // RFC 4468 §3 takes an absolute URI: a relative one has no server to read it from.
      if (!/^imap:\/\//i.test(url)) {
        throw new UrlUnavailable("syntax", "BURL takes an absolute URL: imap://user@host/mailbox/;UID=n…");
      }
      const reader = { userId: user.userId, address: user.address, role: "submit" as const };
      return readUrl(store, await locateUrl(store, { hostname }, reader, url));
    },
  };
}
