// The facts `mailroom doctor` judges (checks.ts), gathered from live DNS through the relay's resolver,
// from the certificate files `mailroom serve` uses, and from one outbound connection.

import { X509Certificate } from "node:crypto";
import type { Resolver } from "node:dns/promises";
import { readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import type { CertificateFacts, DomainFacts, HostFacts, Lookup, Port25Facts, TlsFacts } from "./checks.js";
import type { DnsRecordToPublish } from "./records.js";

async function lookup<T>(query: () => Promise<T>): Promise<Lookup<T>> {
  try {
    return { ok: true, value: await query() };
  } catch (err) {
    return { ok: false, code: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
}

const joinedTxt = (resolver: Resolver, name: string) =>
  lookup(async () => (await resolver.resolveTxt(name)).map((strings) => strings.join("")));

export async function gatherDomain(
  resolver: Resolver,
  domain: string,
  expected: readonly DnsRecordToPublish[],
): Promise<DomainFacts> {
  const dkimName = expected.find((record) => record.kind === "DKIM")?.name;
  const [mx, txt, dkimTxt, dmarcTxt] = await Promise.all([
    lookup(() => resolver.resolveMx(domain)),
    joinedTxt(resolver, domain),
    dkimName === undefined ? Promise.resolve(undefined) : joinedTxt(resolver, dkimName),
    joinedTxt(resolver, `_dmarc.${domain}`),
  ]);
  return { domain, expected, mx, txt, dmarcTxt, ...(dkimTxt ? { dkimTxt } : {}) };
}

export async function gatherHost(resolver: Resolver, hostname: string): Promise<HostFacts> {
  const [v4, v6] = await Promise.all([
    lookup(() => resolver.resolve4(hostname)),
    lookup(() => resolver.resolve6(hostname)),
  ]);
  const found = [...(v4.ok ? v4.value : []), ...(v6.ok ? v6.value : [])];
  // One family missing is normal; report the IPv4 failure when neither answered.
  const addresses: Lookup<string[]> = found.length > 0 || v4.ok ? { ok: true, value: found } : v4;
  const ptr = new Map<string, Lookup<string[]>>();
  await Promise.all(
    found.map(async (address) => {
      ptr.set(address, await lookup(() => resolver.reverse(address)));
    }),
  );
  return { hostname, addresses, ptr };
}

/**
 * The certificate `mailroom serve` presents, verified by OpenSSL the way a client would: a TLS handshake
 * over loopback against a throwaway server holding the configured pair, so the chain is checked with
 * Node's CA store (plus `extraCa`) without the real server having to run.
 */
export async function gatherTls(options: {
  cert: string | null;
  key: string | null;
  dataDir: string;
  hostname: string;
  extraCa?: string;
}): Promise<TlsFacts> {
  const generated = options.cert === null || options.key === null;
  const certPath = options.cert ?? path.join(options.dataDir, "tls", "cert.pem");
  const keyPath = options.key ?? path.join(options.dataDir, "tls", "key.pem");
  let certPem: string;
  let keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return {
      present: false,
      reason: generated
        ? `no certificate yet (${certPath}: ${code}); 'mailroom serve' generates a self-signed one at its first start, and tls.cert and tls.key name a real one`
        : `cannot read ${certPath} or ${keyPath} (${code}); fix tls.cert and tls.key`,
    };
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch {
    return { present: false, reason: `${certPath} is not a PEM certificate; fix tls.cert` };
  }
  const coversHostname =
    net.isIP(options.hostname) !== 0
      ? certificate.checkIP(options.hostname) !== undefined
      : certificate.checkHost(options.hostname) !== undefined;
  const facts: CertificateFacts = {
    path: certPath,
    generated,
    chainError: await handshakeError(certPem, keyPem, options.hostname, options.extraCa),
    coversHostname,
    validTo: new Date(certificate.validTo),
  };
  return { present: true, certificate: facts };
}

async function handshakeError(
  cert: string,
  key: string,
  hostname: string,
  extraCa: string | undefined,
): Promise<string | null> {
  let server: tls.Server;
  try {
    server = tls.createServer({ cert, key });
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    return await new Promise<string | null>((resolve) => {
      const socket = tls.connect({
        host: "127.0.0.1",
        port,
        servername: net.isIP(hostname) === 0 ? hostname : undefined,
        rejectUnauthorized: false,
        ...(extraCa !== undefined ? { ca: [...tls.rootCertificates, extraCa] } : {}),
      });
      socket.once("secureConnect", () => {
        const error = socket.authorized ? null : String(socket.authorizationError);
        socket.destroy();
        resolve(error);
      });
      socket.once("error", (err) => resolve(err.message));
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Opens and closes one TCP connection to the probe; no SMTP is spoken. */
export function gatherPort25(probe: string, timeout: number, smarthost: string | null): Promise<Port25Facts> {
  const at = probe.lastIndexOf(":");
  const host = probe.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(probe.slice(at + 1));
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (error: string | null) => {
      socket.destroy();
      resolve({ probe, error, smarthost });
    };
    socket.setTimeout(timeout, () => done("ETIMEDOUT"));
    socket.once("connect", () => done(null));
    socket.once("error", (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}
