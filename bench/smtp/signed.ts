// The message and DNS records for a run with inbound verification on: one 10 KB message DKIM-signed
// (rsa-sha256, relaxed/relaxed) for the sending domain with a key made for the run, and the TXT records
// that make SPF (for MAIL FROM and both generators' HELO names, from 127.0.0.1), DKIM and DMARC pass.
// Every message of a run is these same bytes: what is measured is verification, not the generator's
// signing. DMARC says p=reject so a message that fails verification is refused and the run shows it.
import { generateKeyPairSync } from "node:crypto";
import { dkimSign } from "mailauth/lib/dkim/sign.js";
import { messageTemplate } from "./message.js";

export const SELECTOR = "bench";

export interface SignedMessage {
  /** The message with CRLF line ends, as sent after 354 (without the final dot). */
  message: Buffer;
  /** TXT records by name, for startBenchDns. */
  txt: Record<string, string[]>;
}

export async function signedMessage(
  size: number,
  from: string,
  to: string,
  heloNames: string[],
): Promise<SignedMessage> {
  const domain = from.slice(from.lastIndexOf("@") + 1).toLowerCase();
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const unsigned = messageTemplate(size, from, to).render(0);
  const signature = {
    signingDomain: domain,
    selector: SELECTOR,
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    algorithm: "rsa-sha256",
    canonicalization: "relaxed/relaxed",
  };
  // mailauth signs what signatureData lists; the same fields at the top level only satisfy its types.
  const result = await dkimSign(unsigned, { ...signature, signatureData: [signature] });
  if (result.signatures === "") throw new Error(`DKIM signing failed: ${JSON.stringify(result.errors)}`);
  const message = Buffer.concat([Buffer.from(result.signatures, "latin1"), unsigned]);
  const spki = publicKey.export({ type: "spki", format: "der" }).toString("base64");
  const spf = ["v=spf1 ip4:127.0.0.1 -all"];
  return {
    message,
    txt: {
      [domain]: spf,
      ...Object.fromEntries(heloNames.map((name) => [name.toLowerCase(), spf])),
      [`${SELECTOR}._domainkey.${domain}`]: [`v=DKIM1; k=rsa; p=${spki}`],
      [`_dmarc.${domain}`]: ["v=DMARC1; p=reject"],
    },
  };
}
