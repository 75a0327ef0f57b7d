// The DNS records a served domain needs so other servers deliver to it and accept its mail: pure, for
// `mailroom domain add|records`, `mailroom doctor` (which compares them with live DNS) and a web admin.

import { isIP } from "node:net";
import { type DkimKeyMaterial, dkimTxtRecord } from "../mail/dkim.js";

export type RecordKind = "MX" | "SPF" | "DKIM" | "DMARC" | "PTR";

export interface DnsRecordToPublish {
  kind: RecordKind;
  /** Owner name without the trailing dot ("example.org", "_dmarc.example.org", "4.3.2.1.in-addr.arpa"). */
  name: string;
  type: "MX" | "TXT" | "PTR";
  /** The record data as it should read back: "10 mail.example.org" for MX, the joined text for TXT. */
  value: string;
  /** One line for a zone file. */
  zoneLine: string;
  /** What the record is for, and where it goes, for a person reading the output. */
  note: string;
}

export interface RecordInputs {
  domain: string;
  /** The server's hostname: the MX target, and what the PTR of its public address must name. */
  hostname: string;
  /** The domain's current DKIM key; null when it has none (no DKIM record is then listed). */
  dkim: DkimKeyMaterial | null;
  /** The server's public addresses, when known; each gets a PTR record. */
  addresses: readonly string[];
}

export const MX_PREFERENCE = 10;
export const SPF_VALUE = "v=spf1 mx -all";

export function dmarcValue(domain: string): string {
  // p=quarantine rather than reject: a forwarding mistake lands in spam instead of vanishing; rua asks
  // receivers for aggregate reports (RFC 7489 §6.3) at an address this server receives.
  return `v=DMARC1; p=quarantine; rua=mailto:postmaster@${domain}`;
}

/** Text of a TXT record as zone-file strings, each at most 255 octets (RFC 1035 §3.3.14). */
function quoted(value: string): string {
  const strings: string[] = [];
  for (let offset = 0; offset < value.length; offset += 255) strings.push(value.slice(offset, offset + 255));
  return strings.map((text) => `"${text.replace(/["\\]/g, "\\$&")}"`).join(" ");
}

/** The in-addr.arpa / ip6.arpa name of an address (RFC 1035 §3.5, RFC 3596 §2.5). */
export function reverseName(address: string): string {
  if (isIP(address) === 4) return `${address.split(".").reverse().join(".")}.in-addr.arpa`;
  const [head = "", tail = ""] = address.toLowerCase().split("::");
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const left = groups(head);
  const right = groups(tail);
  const zeros = address.includes("::") ? Array(8 - left.length - right.length).fill("0") : [];
  const nibbles = [...left, ...zeros, ...right].map((group) => group.padStart(4, "0")).join("");
  return `${[...nibbles].reverse().join(".")}.ip6.arpa`;
}

export function domainRecords(inputs: RecordInputs): DnsRecordToPublish[] {
  const { domain, hostname } = inputs;
  const records: DnsRecordToPublish[] = [
    {
      kind: "MX",
      name: domain,
      type: "MX",
      value: `${MX_PREFERENCE} ${hostname}`,
      zoneLine: `${domain}. IN MX ${MX_PREFERENCE} ${hostname}.`,
      note: `mail for ${domain} goes to this server (${hostname})`,
    },
    {
      kind: "SPF",
      name: domain,
      type: "TXT",
      value: SPF_VALUE,
      zoneLine: `${domain}. IN TXT ${quoted(SPF_VALUE)}`,
      note: `only the hosts in ${domain}'s MX (this server) may send its mail`,
    },
  ];
  if (inputs.dkim) {
    const dkim = dkimTxtRecord(domain, inputs.dkim);
    records.push({
      kind: "DKIM",
      name: dkim.name,
      type: "TXT",
      value: dkim.value,
      zoneLine: dkim.zoneLine,
      note: `the public key of selector ${inputs.dkim.selector} (${inputs.dkim.algorithm}) that signs ${domain}'s mail`,
    });
  }
  const dmarc = dmarcValue(domain);
  records.push({
    kind: "DMARC",
    name: `_dmarc.${domain}`,
    type: "TXT",
    value: dmarc,
    zoneLine: `_dmarc.${domain}. IN TXT ${quoted(dmarc)}`,
    note: `mail failing SPF and DKIM goes to spam; reports go to postmaster@${domain}`,
  });
  for (const address of inputs.addresses) {
    const name = reverseName(address);
    records.push({
      kind: "PTR",
      name,
      type: "PTR",
      value: hostname,
      zoneLine: `${name}. IN PTR ${hostname}.`,
      note: `reverse DNS of ${address}: set by whoever owns the address (your hosting provider's panel), not in ${domain}'s zone`,
    });
  }
  return records;
}

/** The records as zone-file text, each after a comment saying what it is for. */
export function recordsText(records: readonly DnsRecordToPublish[], hostname: string): string {
  const lines = records.flatMap((record) => [`; ${record.kind}: ${record.note}`, record.zoneLine]);
  if (!records.some((record) => record.kind === "PTR")) {
    lines.push(
      `; PTR: ask your hosting provider to set the reverse DNS of this server's public address to ${hostname}`,
      "; (give --address IP to print the exact record)",
    );
  }
  return `${lines.join("\n")}\n`;
}
