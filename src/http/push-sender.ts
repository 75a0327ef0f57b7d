// Push to PushSubscription URLs (RFC 8620 §7.2): the PushVerification of a new subscription, then a
// StateChange to each verified one whenever its user's state moves (jmap/state-watch.ts, one watch per
// user with verified subscriptions), encrypted per RFC 8291 when the subscription has keys. The server
// POSTs wherever a client says, so loopback, private and link-local addresses are refused unless
// `[http] push_allow_private` is set, both when the URL is given and on every connection (the lookup
// below), so a name that later resolves elsewhere does not get through.

import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import type { Logger } from "pino";
import { accountIdFor } from "../jmap/account.js";
import { PUSHABLE_TYPES, pushStates } from "../jmap/push.js";
import type { PushSender } from "../jmap/push-subscription.js";
import { type States, watchStates } from "../jmap/state-watch.js";
import { encryptPush } from "../jmap/web-push.js";
import type { PushSubscriptionRecord, Store } from "../store/types.js";

/** A receiver that does not answer within this is given up on; the next change pushes again. */
const REQUEST_TIMEOUT_MS = 10_000;
/** RFC 8030 §5.2: how long a push service may hold the message for an offline device. */
const TTL_SECONDS = 86_400;
const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 127],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv6");
}

/** Loopback, private, link-local, shared, multicast or reserved: not somewhere to POST for a client. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, "ipv4");
  if (family !== 6) return true;
  // An IPv4-mapped address (::ffff:a.b.c.d) is that IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? PRIVATE.check(mapped[1] as string, "ipv4") : PRIVATE.check(address, "ipv6");
}

export interface PushSenderOptions {
  store: Pick<Store, "pushSubscriptions" | "emails" | "events" | "quotas" | "sieveScripts" | "identities">;
  logger: Logger;
  allowPrivate: boolean;
}

export interface RunningPushSender extends PushSender {
  stop(): Promise<void>;
}

export async function startPushSender(options: PushSenderOptions): Promise<RunningPushSender> {
  const { store, logger, allowPrivate } = options;
  const watches = new Map<number, () => void>();
  const inFlight = new Set<Promise<void>>();
  let stopped = false;

  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, "", 0);
      const allowed = allowPrivate
        ? addresses
        : addresses.filter(({ address }) => !isPrivateAddress(address));
      const first = allowed[0];
      if (first === undefined) {
        return callback(
          Object.assign(new Error(`${hostname} resolves only to private addresses`), { code: "EPRIVATE" }),
          "",
          0,
        );
      }
      if (lookupOptions.all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      callback(null, first.address, first.family);
    });
  };

  async function checkUrl(url: URL): Promise<string | null> {
    if (url.protocol !== "https:" && !(allowPrivate && url.protocol === "http:")) {
      return "url must begin with https:// (RFC 8620 §7.2)";
    }
    if (url.username !== "" || url.password !== "") return "url must not carry credentials";
    if (allowPrivate) return null;
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    let addresses: string[];
    try {
      addresses = isIP(host)
        ? [host]
        : (
            await new Promise<LookupAddress[]>((resolve, reject) =>
              dnsLookup(host, { all: true }, (error, found) => (error ? reject(error) : resolve(found))),
            )
          ).map(({ address }) => address);
    } catch {
      return `${host} does not resolve`;
    }
    if (addresses.some(isPrivateAddress)) {
      return `${host} is a loopback, private or link-local address; pushes go only to public ones`;
    }
    return null;
  }

  /** One POST; resolves with the status, or null when it could not be delivered. */
  function post(subscription: PushSubscriptionRecord, message: object): Promise<number | null> {
    const json = Buffer.from(JSON.stringify(message));
    const body = subscription.keys ? encryptPush(subscription.keys, json) : json;
    const headers: Record<string, string | number> = {
      "Content-Type": subscription.keys ? "application/octet-stream" : "application/json; charset=utf-8",
      "Content-Length": body.length,
      TTL: TTL_SECONDS,
      ...(subscription.keys ? { "Content-Encoding": "aes128gcm" } : {}),
    };
    const url = new URL(subscription.url);
    const client = url.protocol === "https:" ? https : http;
    // A literal address is connected to without a lookup, so it is checked here.
    const literal = url.hostname.replace(/^\[(.*)\]$/, "$1");
    if (!allowPrivate && isIP(literal) !== 0 && isPrivateAddress(literal)) {
      logger.warn(
        { subscription: subscription.id, host: url.host },
        "push URL is a private address; not sent",
      );
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      const request = client.request(
        url,
        { method: "POST", headers, lookup, timeout: REQUEST_TIMEOUT_MS },
        (response) => {
          response.resume();
          response.once("end", () => resolve(response.statusCode ?? null));
          response.once("error", () => resolve(null));
        },
      );
      request.once("timeout", () => request.destroy(new Error("the receiver did not answer in time")));
      request.once("error", (error) => {
        logger.warn({ err: error, subscription: subscription.id, host: url.host }, "push delivery failed");
        resolve(null);
      });
      request.end(body);
    });
  }

  /** Posts in the background, so a slow receiver holds up neither a JMAP response nor other pushes. */
  function send(subscription: PushSubscriptionRecord, message: object): void {
    const work = post(subscription, message).then(async (status) => {
      if (status === null) return;
      // RFC 8030 §6.2: 404 and 410 say the subscription is gone for good.
      if (status === 404 || status === 410) {
        logger.info({ subscription: subscription.id, status }, "push subscription gone at its URL; removed");
        await store.pushSubscriptions.destroyPushSubscription(subscription.userId, subscription.id);
        await subscriptionsChanged(subscription.userId);
      } else if (status < 200 || status >= 300) {
        logger.warn({ subscription: subscription.id, status }, "push receiver refused a push");
      }
    });
    const tracked = work.catch((error: unknown) => logger.warn({ err: error }, "push delivery failed"));
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
  }

  async function pushChanged(userId: number, changed: States): Promise<void> {
    const subscriptions = await store.pushSubscriptions.listPushSubscriptions(userId, new Date());
    const accountId = accountIdFor(userId);
    for (const subscription of subscriptions) {
      if (subscription.verificationCode === null) continue;
      const wanted = Object.entries(changed).filter(
        ([type]) => subscription.types === null || subscription.types.includes(type),
      );
      if (wanted.length === 0) continue;
      send(subscription, { "@type": "StateChange", changed: { [accountId]: Object.fromEntries(wanted) } });
    }
  }

  async function watch(userId: number): Promise<void> {
    const types = new Set(PUSHABLE_TYPES);
    const states = () => pushStates(store, userId, types);
    const baseline = await states();
    if (stopped || watches.has(userId)) return;
    watches.set(
      userId,
      watchStates({
        events: store.events,
        userId,
        states,
        baseline,
        onChange: (changed) => {
          pushChanged(userId, changed).catch((error: unknown) =>
            logger.warn({ err: error, userId }, "could not read push subscriptions"),
          );
        },
        onError: (error) => {
          watches.delete(userId);
          logger.warn({ err: error, userId }, "could not compute a state for push; watching again");
          void watch(userId).catch(() => undefined);
        },
      }),
    );
  }

  async function subscriptionsChanged(userId: number): Promise<void> {
    const subscriptions = await store.pushSubscriptions.listPushSubscriptions(userId, new Date());
    const verified = subscriptions.some((subscription) => subscription.verificationCode !== null);
    if (verified && !watches.has(userId)) await watch(userId);
    if (!verified) {
      watches.get(userId)?.();
      watches.delete(userId);
    }
  }

  const users = new Set(
    (await store.pushSubscriptions.listVerifiedPushSubscriptions(new Date())).map((each) => each.userId),
  );
  await Promise.all([...users].map((userId) => watch(userId)));
  const sweep = setInterval(() => {
    store.pushSubscriptions
      .removeExpiredPushSubscriptions(new Date())
      .catch((error: unknown) => logger.warn({ err: error }, "could not remove expired push subscriptions"));
  }, SWEEP_INTERVAL_MS);
  sweep.unref();

  return {
    checkUrl,
    sendVerification(subscription, code) {
      send(subscription, {
        "@type": "PushVerification",
        pushSubscriptionId: subscription.id,
        verificationCode: code,
      });
    },
    subscriptionsChanged(userId) {
      subscriptionsChanged(userId).catch((error: unknown) =>
        logger.warn({ err: error, userId }, "could not read push subscriptions"),
      );
    },
    async stop() {
      stopped = true;
      clearInterval(sweep);
      for (const stop of watches.values()) stop();
      watches.clear();
      await Promise.all(inFlight);
    },
  };
}
