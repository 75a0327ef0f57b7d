// The message and DNS records for a run with inbound verification on: one 10 KB message DKIM-signed
// (rsa-sha256, relaxed/relaxed) for the sending domain with a key made for the run, and the TXT records
// that make SPF (for MAIL FROM and both generators' HELO names, from 127.0.0.1), DKIM and DMARC pass.
// Every message of a run is these same bytes: what is measured is verification, not the generator's
// signing. DMARC says p=reject so a message that fails verification is refused and the run shows it.
import { type DkimKeyMaterial, dkimTxtRecord, generateDkimKey, signMessage } from "../../src/mail/dkim.js";
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
  const key: DkimKeyMaterial = {
    selector: SELECTOR,
    privateKeyPem: await generateDkimKey("rsa-sha256"),
    algorithm: "rsa-sha256",
  };
  const unsigned = messageTemplate(size, from, to).render(0);
  // Signed as mailroom signs submitted mail, so the bench's signature is made the way the product's is.
  const signature = await signMessage(unsigned, domain, key);
  const message = Buffer.concat([Buffer.from(signature, "latin1"), unsigned]);
  const dkim = dkimTxtRecord(domain, key);
  const spf = ["v=spf1 ip4:127.0.0.1 -all"];
  return {
    message,
    txt: {
      [domain]: spf,
      ...Object.fromEntries(heloNames.map((name) => [name.toLowerCase(), spf])),
      [dkim.name]: [dkim.value],
      [`_dmarc.${domain}`]: ["v=DMARC1; p=reject"],
    },
  };
}
