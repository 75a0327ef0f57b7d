// The server's TLS identity: the operator's certificate, or a self-signed one generated into the data dir
// so STARTTLS and the implicit-TLS ports work on a first start.

import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { createSecureContext, type SecureContext } from "node:tls";
import type { Logger } from "pino";
import { generate } from "selfsigned";
import { ConfigError } from "../config/load.js";
import type { Config } from "../config/types.js";

export interface LoadedTls {
  context: SecureContext;
  certPath: string;
  keyPath: string;
  /** True when this call generated a new self-signed certificate. */
  generated: boolean;
}

const GENERATED_VALIDITY_DAYS = 825;

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

function buildContext(certPem: string, keyPem: string): SecureContext {
  return createSecureContext({ cert: certPem, key: keyPem, minVersion: "TLSv1.2" });
}

/** Validates the operator's PEM files, naming the key whose file is at fault. */
async function loadConfigured(certPath: string, keyPath: string, config: Config, logger: Logger) {
  const read = async (file: string, key: string) => {
    try {
      return await readFile(file, "utf8");
    } catch (error) {
      throw new ConfigError([`${key}: cannot read ${file} (${errorCode(error)})`]);
    }
  };
  const certPem = await read(certPath, "tls.cert");
  const keyPem = await read(keyPath, "tls.key");
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch {
    throw new ConfigError([`tls.cert: ${certPath} is not a PEM certificate ("-----BEGIN CERTIFICATE-----")`]);
  }
  try {
    createPrivateKey(keyPem);
  } catch {
    throw new ConfigError([
      `tls.key: ${keyPath} is not an unencrypted PEM private key ("-----BEGIN PRIVATE KEY-----")`,
    ]);
  }
  let context: SecureContext;
  try {
    context = buildContext(certPem, keyPem);
  } catch (error) {
    throw new ConfigError([
      `tls.key: ${keyPath} does not match the certificate in tls.cert (${certPath}): ${errorCode(error)}`,
    ]);
  }
  if (new Date(certificate.validTo).getTime() < Date.now()) {
    logger.warn(
      { certPath, validTo: certificate.validTo },
      "the TLS certificate has expired; clients will refuse it",
    );
  }
  if (!coversHost(certificate, config.hostname)) {
    logger.warn(
      { certPath, hostname: config.hostname },
      "the TLS certificate does not name this server's hostname",
    );
  }
  return context;
}

function coversHost(certificate: X509Certificate, hostname: string): boolean {
  return net.isIP(hostname)
    ? certificate.checkIP(hostname) !== undefined
    : certificate.checkHost(hostname) !== undefined;
}

async function writeAtomically(file: string, contents: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, contents, { mode, flush: true });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

async function generateSelfSigned(hostname: string): Promise<{ cert: string; key: string }> {
  const altNames = [
    net.isIP(hostname) ? { type: 7 as const, ip: hostname } : { type: 2 as const, value: hostname },
    { type: 2 as const, value: "localhost" },
    { type: 7 as const, ip: "127.0.0.1" },
  ];
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate.getTime() + GENERATED_VALIDITY_DAYS * 86_400_000);
  const pems = await generate([{ name: "commonName", value: hostname }], {
    keyType: "rsa",
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Reuses an earlier generated pair if it is intact, unexpired and names the current hostname. */
async function reuseGenerated(certPath: string, keyPath: string, hostname: string, logger: Logger) {
  let certPem: string;
  let keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
  } catch {
    return null;
  }
  try {
    const certificate = new X509Certificate(certPem);
    if (new Date(certificate.validTo).getTime() < Date.now() || !coversHost(certificate, hostname)) {
      logger.info(
        { certPath },
        "the generated TLS certificate has expired or names another host; replacing it",
      );
      return null;
    }
    return buildContext(certPem, keyPem);
  } catch (error) {
    logger.warn({ certPath, err: error }, "the generated TLS certificate is unreadable; replacing it");
    return null;
  }
}

export async function loadTls(config: Config, logger: Logger): Promise<LoadedTls> {
  if (config.tls.cert !== null && config.tls.key !== null) {
    const context = await loadConfigured(config.tls.cert, config.tls.key, config, logger);
    return { context, certPath: config.tls.cert, keyPath: config.tls.key, generated: false };
  }
  const directory = path.join(config.dataDir, "tls");
  const certPath = path.join(directory, "cert.pem");
  const keyPath = path.join(directory, "key.pem");
  const existing = await reuseGenerated(certPath, keyPath, config.hostname, logger);
  if (existing) return { context: existing, certPath, keyPath, generated: false };

  const { cert, key } = await generateSelfSigned(config.hostname);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  // The key first: a cert.pem without its key.pem is never left behind as if it were a usable pair.
  await writeAtomically(keyPath, key, 0o600);
  await writeAtomically(certPath, cert, 0o600);
  logger.info(
    `generated a self-signed TLS certificate for ${config.hostname} at ${certPath}; set tls.cert and tls.key for a real one`,
  );
  return { context: buildContext(cert, key), certPath, keyPath, generated: true };
}
