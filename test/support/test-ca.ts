// A certificate authority made for one test run, and server certificates it signs: for tests of
// verified TLS (MTA-STS policy fetch and MX checks), which a self-signed certificate cannot pass.

import { generate } from "selfsigned";

export interface TestCa {
  key: string;
  /** PEM, to trust (e.g. as [relay] tls_ca_file). */
  cert: string;
}

export async function makeTestCa(name = "mailroom test CA"): Promise<TestCa> {
  const pems = await generate([{ name: "commonName", value: name }], {
    keySize: 2048,
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

/** A server certificate for `names` (DNS subjectAltNames; the first is also the CN), signed by `ca`. */
export async function signedCertificate(ca: TestCa, names: string[]): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: "commonName", value: names[0] ?? "localhost" }], {
    keySize: 2048,
    algorithm: "sha256",
    ca,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: names.map((value) => ({ type: 2, value })) },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
