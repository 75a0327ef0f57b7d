// A small authoritative DNS server on loopback UDP for benchmarks that make mailroom look things up
// (inbound SPF/DKIM/DMARC): TXT records from a fixed table, NXDOMAIN for any other name, NODATA for
// another type of a known name. Point mailroom at it with [relay] resolver = "127.0.0.1:PORT".
import { createSocket } from "node:dgram";
import { once } from "node:events";
import dnsPacket from "dns-packet";

export interface BenchDns {
  /** "127.0.0.1:PORT", the form [relay] resolver takes. */
  server: string;
  /** Queries answered so far. */
  queries(): number;
  close(): Promise<void>;
}

const NXDOMAIN = 3;

/** `txt` maps a lower-case name (no trailing dot) to its TXT records, one string each. */
export async function startBenchDns(txt: Record<string, string[]>): Promise<BenchDns> {
  const socket = createSocket("udp4");
  let count = 0;
  socket.on("message", (message, remote) => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    count += 1;
    const question = query.questions?.[0];
    const name = question?.name.toLowerCase().replace(/\.$/, "") ?? "";
    const records = txt[name];
    const answers: dnsPacket.Answer[] =
      records !== undefined && question?.type === "TXT"
        ? records.map((text) => ({
            type: "TXT" as const,
            name: question.name,
            ttl: 300,
            // A TXT record is a list of strings of at most 255 octets (RFC 1035 §3.3.14).
            data: text.match(/.{1,255}/gs) ?? [""],
          }))
        : [];
    const reply = dnsPacket.encode({
      type: "response",
      id: query.id ?? 0,
      flags:
        dnsPacket.AUTHORITATIVE_ANSWER |
        dnsPacket.RECURSION_DESIRED |
        dnsPacket.RECURSION_AVAILABLE |
        (records === undefined ? NXDOMAIN : 0),
      questions: query.questions ?? [],
      answers,
    });
    socket.send(reply, remote.port, remote.address);
  });
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  const { port } = socket.address();
  return {
    server: `127.0.0.1:${port}`,
    queries: () => count,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
