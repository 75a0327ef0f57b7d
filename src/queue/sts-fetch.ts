// The MTA-STS policy fetch (RFC 8461 §3.3): GET https://mta-sts.<domain>/.well-known/mta-sts.txt with
// a certificate valid for that name, no redirects, a time and a size limit, media type text/plain. The
// host is resolved through the relay's resolver, as MX hosts are, not the system's.

import type { LookupAddress } from "node:dns";
import { request } from "node:https";
import { isIP } from "node:net";
import { isCertificateFailure } from "../smtp/client/types.js";
import type { CachedResolve } from "./dns.js";

export interface StsFetchOptions {
  resolve: CachedResolve;
  /** 443 except in tests (RFC 8461 §3.3 fixes the port). */
  port: number;
  timeout: number;
  maxSize: number;
  /** The CA certificates to trust (the system's plus [relay] tls_ca_file); undefined: the system's. */
  ca?: string[];
}

export type StsFetchResult =
  | { ok: true; text: string }
  /** webpki: the certificate failed (RFC 8460 sts-webpki-invalid); otherwise a fetch error. */
  | { ok: false; webpki: boolean; reason: string };

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

/** A node:net lookup over the cached resolver, in both of its call shapes (one address, or all). */
export function lookupVia(resolve: CachedResolve) {
  return (
    hostname: string,
    options: { all?: boolean; family?: number | string },
    callback: LookupCallback,
  ) => {
    if (isIP(hostname)) {
      const family = isIP(hostname);
      if (options.all) callback(null, [{ address: hostname, family }]);
      else callback(null, hostname, family);
      return;
    }
    const ask = (type: "A" | "AAAA"): Promise<string[]> =>
      (resolve(hostname, type) as Promise<string[]>).catch(() => []);
    void Promise.all([ask("A"), ask("AAAA")]).then(([v4, v6]) => {
      const all = [
        ...v4.map((address) => ({ address, family: 4 })),
        ...v6.map((address) => ({ address, family: 6 })),
      ];
      if (all.length === 0) {
        callback(Object.assign(new Error(`${hostname} has no address record`), { code: "ENOTFOUND" }), []);
        return;
      }
      const first = all[0] as LookupAddress;
      if (options.all) callback(null, all);
      else callback(null, first.address, first.family);
    });
  };
}

export function fetchStsPolicy(domain: string, options: StsFetchOptions): Promise<StsFetchResult> {
  const host = `mta-sts.${domain}`;
  const where = `https://${host}/.well-known/mta-sts.txt`;
  return new Promise((resolvePromise) => {
    let settled = false;
    const done = (result: StsFetchResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolvePromise(result);
    };
    const req = request(
      {
        host,
        port: options.port,
        path: "/.well-known/mta-sts.txt",
        method: "GET",
        servername: host,
        rejectUnauthorized: true,
        ...(options.ca ? { ca: options.ca } : {}),
        lookup: lookupVia(options.resolve) as never,
        agent: false,
        headers: { accept: "text/plain", "user-agent": "mailroom" },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        if (status !== 200) {
          // §3.3: "HTTP 3xx redirects MUST NOT be followed"; anything but 200 is no policy.
          const redirect =
            status >= 300 && status < 400 ? " (a redirect, which MTA-STS does not follow)" : "";
          done({ ok: false, webpki: false, reason: `${where} answered HTTP ${status}${redirect}` });
          return;
        }
        const type = (response.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
        if (type !== "text/plain") {
          done({ ok: false, webpki: false, reason: `${where} is served as "${type}", not text/plain` });
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxSize) {
            done({ ok: false, webpki: false, reason: `${where} is larger than ${options.maxSize} bytes` });
            return;
          }
          chunks.push(chunk);
        });
        response.on("end", () => done({ ok: true, text: Buffer.concat(chunks).toString("utf8") }));
        response.on("error", (error) =>
          done({ ok: false, webpki: false, reason: `${where}: ${error.message}` }),
        );
      },
    );
    const timer = setTimeout(
      () =>
        done({ ok: false, webpki: false, reason: `${where} did not answer within ${options.timeout} ms` }),
      options.timeout,
    );
    req.on("error", (error) =>
      done({
        ok: false,
        webpki: isCertificateFailure(error),
        reason: `${where}: ${error.message}`,
      }),
    );
    req.end();
  });
}
