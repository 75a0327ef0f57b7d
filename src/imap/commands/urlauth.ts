/**
 * URLAUTH (RFC 4467): GENURLAUTH signs URLs of the user's own messages so that someone else — the
 * submission server sending a draft by BURL (RFC 4468), or another user — can read just that part;
 * URLFETCH reads such URLs; RESETKEY forgets the keys, so every URL signed before stops working. The
 * rules of who may read what are in ../url-access.ts, shared with CATENATE and SMTP BURL.
 */

import { parseImapUrl } from "../protocol/url.js";
import { untaggedValues } from "../responses.js";
import { authorizeUrl, locateUrl, readUrl, URLAUTH_MECHANISM, UrlUnavailable } from "../url-access.js";
import { CommandFailure, decodeName, type ImapContext, requireMailbox } from "./context.js";

/** The response code SELECT, EXAMINE and RESETKEY carry (RFC 4467 §8): the mechanisms offered. */
export const URLMECH_CODE = `URLMECH ${URLAUTH_MECHANISM}`;

function server(context: ImapContext) {
  return { hostname: context.hostname };
}

function reader(context: ImapContext) {
  return { userId: context.userId, address: context.userAddress, role: "user" as const };
}

function checkMechanism(mechanism: string): void {
  if (mechanism !== URLAUTH_MECHANISM) {
    throw new CommandFailure(null, `URLAUTH mechanism ${mechanism} is not offered; use ${URLAUTH_MECHANISM}`);
  }
}

/** GENURLAUTH: all the URLs or none (RFC 4467 §6.1 answers a failure with a tagged NO). */
export async function genUrlAuth(
  context: ImapContext,
  urls: ReadonlyArray<{ rump: string; mechanism: string }>,
): Promise<Buffer[]> {
  const authorized: string[] = [];
  for (const { rump, mechanism } of urls) {
    checkMechanism(mechanism);
    try {
      authorized.push(await authorizeUrl(context.store, server(context), reader(context), rump));
    } catch (error) {
      if (error instanceof UrlUnavailable) throw new CommandFailure(null, `${error.message}: ${rump}`);
      throw error;
    }
  }
  return [untaggedValues([{ atom: "GENURLAUTH" }, ...authorized])];
}

/**
 * URLFETCH: one response per URL, with its octets or NIL when it does not resolve for this user; the
 * reason is not told (RFC 4467 §6.3), so no URL reveals whether another user's mailbox exists. Only
 * authorized URLs are fetched: URLFETCH is URLAUTH's reading side, and a plain URL is FETCH's business.
 */
export async function urlFetch(context: ImapContext, urls: readonly string[]): Promise<Buffer[]> {
  const output: Buffer[] = [];
  for (const url of urls) {
    let data: Buffer | null = null;
    try {
      if (parseImapUrl(url)?.urlauth?.mechanism) {
        const target = await locateUrl(context.store, server(context), reader(context), url);
        data = await readUrl(context.store, target);
      }
    } catch (error) {
      if (!(error instanceof UrlUnavailable)) throw error;
    }
    output.push(untaggedValues([{ atom: "URLFETCH" }, url, data === null ? null : { literal: data }]));
  }
  return output;
}

/** RESETKEY: returns the response code of the tagged OK (URLMECH when a mailbox was named). */
export async function resetKey(
  context: ImapContext,
  mailbox: string | null,
  mechanisms: readonly string[],
): Promise<string | null> {
  for (const mechanism of mechanisms) checkMechanism(mechanism);
  if (mailbox === null) {
    await context.store.urlAuthKeys.resetAccessKeys(context.userId, null);
    return null;
  }
  const found = await requireMailbox(context, decodeName(context, mailbox));
  await context.store.urlAuthKeys.resetAccessKeys(context.userId, found.id);
  return URLMECH_CODE;
}
