// A tiny authoritative DNS server on loopback UDP for tests that resolve MX/A/AAAA (mailroom send, the
// relay): point a node:dns Resolver at it with `resolver.setServers([`${address}:${port}`])`.
//
// A name that is absent from the records answers NXDOMAIN; a name that is present but lacks the asked
// type answers NOERROR with no answers (NODATA), so both "no such domain" and "no MX" can be tested.

import { createSocket, type RemoteInfo } from "node:dgram";
import dnsPacket from "dns-packet";

export interface TestDnsName {
  mx?: Array<{ preference: number; exchange: string }>;
  a?: string[];
  aaaa?: string[];
  /** TXT records (SPF, DKIM keys, DMARC); longer than 255 octets they are split into strings. */
  txt?: string[];
  /** Answer SERVFAIL for every query of this name (a temporary DNS failure). */
  servfail?: boolean;
}

/** Keyed by domain name, case-insensitive, without a trailing dot. */
export type TestDnsRecords = Record<string, TestDnsName>;

export interface TestDns {
  address: string;
  port: number;
  /** Replaces the whole record set. */
  set(records: TestDnsRecords): void;
  /** Every question received, as "TYPE name", oldest first. */
  queries(): string[];
  close(): Promise<void>;
}

const NOERROR = 0;
const SERVFAIL = 2;
const NXDOMAIN = 3;
const TTL = 60;

function normalise(records: TestDnsRecords): Map<string, TestDnsName> {
  const map = new Map<string, TestDnsName>();
  for (const [name, entry] of Object.entries(records)) map.set(name.toLowerCase().replace(/\.$/, ""), entry);
  return map;
}

function answerFor(query: dnsPacket.DecodedPacket, records: Map<string, TestDnsName>): Buffer {
  const question = query.questions?.[0];
  const answers: dnsPacket.Answer[] = [];
  let rcode = NOERROR;
  if (question) {
    const entry = records.get(question.name.toLowerCase().replace(/\.$/, ""));
    if (!entry) rcode = NXDOMAIN;
    else if (entry.servfail) rcode = SERVFAIL;
    else if (question.type === "MX") {
      for (const mx of entry.mx ?? [])
        answers.push({
          type: "MX",
          name: question.name,
          ttl: TTL,
          data: { preference: mx.preference, exchange: mx.exchange },
        });
    } else if (question.type === "A") {
      for (const ip of entry.a ?? []) answers.push({ type: "A", name: question.name, ttl: TTL, data: ip });
    } else if (question.type === "TXT") {
      for (const text of entry.txt ?? []) {
        const chunks = text.match(/.{1,255}/gs) ?? [""];
        answers.push({ type: "TXT", name: question.name, ttl: TTL, data: chunks });
      }
    } else if (question.type === "AAAA") {
      for (const ip of entry.aaaa ?? [])
        answers.push({ type: "AAAA", name: question.name, ttl: TTL, data: ip });
    }
  }
  return dnsPacket.encode({
    type: "response",
    id: query.id ?? 0,
    // AA, RD (echoed), RA, and the rcode in the low four bits.
    flags:
      dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
    questions: question ? [question] : [],
    answers,
  });
}

export function startTestDns(records: TestDnsRecords = {}): Promise<TestDns> {
  let current = normalise(records);
  const seen: string[] = [];
  const socket = createSocket("udp4");
  socket.on("message", (message: Buffer, peer: RemoteInfo) => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return; // Not DNS: a real server would drop it too.
    }
    const question = query.questions?.[0];
    if (question) seen.push(`${question.type} ${question.name}`);
    socket.send(answerFor(query, current), peer.port, peer.address);
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      socket.off("error", reject);
      const bound = socket.address();
      resolve({
        address: bound.address,
        port: bound.port,
        set(next) {
          current = normalise(next);
        },
        queries: () => [...seen],
        close: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });
}
