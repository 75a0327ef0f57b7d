// A deterministic maildrop for the POP3 benchmark: the same seed always gives the same bytes, so both
// servers are loaded with identical messages and a later re-run measures the same data.
//
// Sizes: most messages are small text mail (about 4 KB median), about one in eight is 12–50 KB and
// about one in thirty is 50–200 KB (an attachment-sized body). Lines end in CRLF, are at most 78
// characters, and a few body lines start with "." so the servers' dot-stuffing is exercised.

const WORDS = (
  "the of and to in is that for it as was with be by on not he this are or his from at which but have an " +
  "they you were her she there one all we their has been would will more when if no out so up said what " +
  "mail server queue relay message header body deliver mailbox inbox folder sender recipient domain " +
  "invoice meeting report quarterly budget schedule agenda minutes project release notes draft review"
).split(" ");

const CRLF = "\r\n";
const KiB = 1024;

/** mulberry32: a small, fast 32-bit PRNG; good enough for picking words and sizes, and reproducible. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function between(random: () => number, low: number, high: number): number {
  return Math.floor(low + random() * (high - low));
}

/** The target size of one message, in bytes. */
function pickSize(random: () => number): number {
  const roll = random();
  if (roll < 0.033) return between(random, 50 * KiB, 200 * KiB);
  if (roll < 0.158) return between(random, 12 * KiB, 50 * KiB);
  // Log-uniform between 1 KB and 12 KB puts the median of this group near 3.5 KB and of all near 4 KB.
  return Math.round(KiB * 12 ** random());
}

function bodyLine(random: () => number): string {
  const target = between(random, 20, 76);
  let line = "";
  while (line.length < target) {
    const word = WORDS[between(random, 0, WORDS.length)] ?? "mail";
    const longer = line.length === 0 ? word : `${line} ${word}`;
    // 76 leaves room for a leading dot within RFC 5322 §2.1.1's recommended 78 characters.
    if (longer.length > 76) break;
    line = longer;
  }
  // About one line in 200 starts with a dot: RFC 1939 §3 has the server stuff another in front.
  return random() < 0.005 ? `.${line}` : line;
}

/** Message number `index` (0-based) of the corpus with this seed, CRLF line ends. */
export function generateMessage(seed: number, index: number): Buffer {
  const random = createRandom((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const size = pickSize(random);
  const date = new Date(Date.UTC(2026, 0, 1) + index * 60_000).toUTCString().replace("GMT", "+0000");
  const header = [
    `Return-Path: <sender${index % 97}@example.org>`,
    `From: Sender ${index % 97} <sender${index % 97}@example.org>`,
    "To: u@bench.test",
    `Subject: benchmark message ${index + 1} ${bodyLine(random).slice(0, 40)}`,
    `Date: ${date}`,
    `Message-ID: <bench.${seed}.${index + 1}@example.org>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 7bit",
    "",
  ].join(CRLF);
  const lines: string[] = [header];
  let length = header.length + CRLF.length;
  while (length < size) {
    const line = bodyLine(random);
    lines.push(line);
    length += line.length + CRLF.length;
  }
  return Buffer.from(`${lines.join(CRLF)}${CRLF}`, "latin1");
}

/** The `count` messages of the corpus, in order: message i + 1 in a POP3 listing is generateMessage(seed, i). */
export function* generateCorpus(count: number, seed: number): Generator<Buffer> {
  for (let index = 0; index < count; index++) yield generateMessage(seed, index);
}

/**
 * A message of exactly `size` octets (CRLF line ends) for APPEND: generateMessage(seed, index)'s lines
 * that fit, then padding on one last line.
 */
export function messageOfSize(seed: number, index: number, size: number): Buffer {
  let text = "";
  for (const line of generateMessage(seed, index).toString("latin1").split(CRLF)) {
    if (text.length + line.length + 2 > size - 2) break;
    text += `${line}${CRLF}`;
  }
  return Buffer.from(text.padEnd(size - 2, "x").concat(CRLF), "latin1");
}
