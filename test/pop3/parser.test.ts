import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { DotStuffer, multilineBody } from "../../src/pop3/body.js";
import { parseCommand, parseNumber } from "../../src/pop3/command.js";
import { LineReader, MAX_COMMAND_LINE, OVERLONG_LINE_SLACK } from "../../src/pop3/line-reader.js";

function lines(reader: LineReader, ...chunks: string[]): string[] {
  return chunks.flatMap((chunk) =>
    reader
      .push(Buffer.from(chunk, "latin1"))
      .map((item) => (item.kind === "line" ? item.line.toString("latin1") : `<${item.kind}>`)),
  );
}

describe("LineReader", () => {
  test("splits CRLF and bare LF lines across chunk boundaries", () => {
    const reader = new LineReader();
    assert.deepEqual(lines(reader, "US", "ER a\r", "\nSTAT\nLI", "ST 1\r\n"), ["USER a", "STAT", "LIST 1"]);
    assert.equal(reader.buffered, 0);
  });

  test("a line of exactly the limit (CRLF included) passes, one more octet is overlong", () => {
    const reader = new LineReader();
    const fits = "A".repeat(MAX_COMMAND_LINE - 2);
    assert.deepEqual(lines(reader, `${fits}\r\n`), [fits]);
    assert.deepEqual(lines(reader, `${fits}A\r\nNOOP\r\n`), ["<overlong>", "NOOP"]);
  });

  test("an overlong line spread over many chunks is reported once and its bytes are not kept", () => {
    const reader = new LineReader();
    const out: string[] = [];
    for (let i = 0; i < 40; i++) out.push(...lines(reader, "x".repeat(100)));
    assert.ok(reader.buffered <= MAX_COMMAND_LINE);
    out.push(...lines(reader, "tail\r\nQUIT\r\n"));
    assert.deepEqual(out, ["<overlong>", "QUIT"]);
  });

  test("a line with no line feed past the limit and the slack is a runaway; nothing after it is read", () => {
    const reader = new LineReader();
    const out: string[] = [];
    let read = 0;
    while (out.length === 0 && read < 1024 * 1024) {
      out.push(...lines(reader, "x".repeat(100)));
      read += 100;
    }
    assert.deepEqual(out, ["<runaway>"]);
    const bound = MAX_COMMAND_LINE + OVERLONG_LINE_SLACK;
    assert.ok(read > bound && read <= bound + 100, `reported after ${read} octets`);
    assert.equal(reader.stopped, true);
    assert.deepEqual(lines(reader, "\r\nQUIT\r\n"), []);
    reader.reset();
    assert.deepEqual(lines(reader, "QUIT\r\n"), ["QUIT"]);
  });

  test("reset drops a partial line", () => {
    const reader = new LineReader();
    assert.deepEqual(lines(reader, "RETR 1"), []);
    reader.reset();
    assert.deepEqual(lines(reader, "STAT\r\n"), ["STAT"]);
  });

  test("fast-check: lines come out unchanged whatever the chunking", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[ -~]{0,60}$/), { maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 10 }),
        (input, cuts) => {
          const wire = input.map((line) => `${line}\r\n`).join("");
          const reader = new LineReader();
          const chunks: string[] = [];
          let at = 0;
          let i = 0;
          while (at < wire.length) {
            const size = cuts[i++ % cuts.length] ?? 1;
            chunks.push(wire.slice(at, at + size));
            at += size;
          }
          assert.deepEqual(lines(reader, ...chunks), input);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("parseCommand / parseNumber", () => {
  test("keywords are case-insensitive and arguments split on spaces", () => {
    assert.deepEqual(parseCommand("top 1  5"), { verb: "TOP", args: ["1", "5"], rest: "1  5" });
    assert.deepEqual(parseCommand("STAT"), { verb: "STAT", args: [], rest: "" });
    assert.equal(parseCommand("PASS  with spaces ").rest, " with spaces ");
  });

  test("numbers are plain decimal digits within bounds", () => {
    assert.equal(parseNumber("0"), 0);
    assert.equal(parseNumber("42"), 42);
    for (const bad of ["", "-1", "+1", "1.5", "1e3", "0x10", " 1", "1234567890", "١"]) {
      assert.equal(parseNumber(bad), null, bad);
    }
  });
});

function stuff(input: string, bodyLines?: number, chunkSize = 3): string {
  const stuffer = new DotStuffer(bodyLines);
  const data = Buffer.from(input, "latin1");
  const out: Buffer[] = [];
  for (let at = 0; at < data.length && !stuffer.done; at += chunkSize) {
    out.push(stuffer.push(data.subarray(at, at + chunkSize)));
  }
  out.push(stuffer.finish());
  return Buffer.concat(out).toString("latin1");
}

/** Reverses dot-stuffing as a client does (RFC 1939 §3), to check the round trip. */
function unstuff(wire: string): string {
  assert.ok(wire.endsWith("\r\n.\r\n") || wire === ".\r\n", "terminated by CRLF.CRLF");
  const body = wire.slice(0, -3);
  return body
    .split("\r\n")
    .map((line) => (line.startsWith(".") ? line.slice(1) : line))
    .join("\r\n");
}

describe("DotStuffer", () => {
  test("doubles leading dots, including a lone dot line, and terminates", () => {
    const message = "Subject: x\r\n\r\n.hidden\r\n.\r\nok.\r\n..two\r\n";
    assert.equal(stuff(message), "Subject: x\r\n\r\n..hidden\r\n..\r\nok.\r\n...two\r\n.\r\n");
  });

  test("adds the missing final CRLF before the terminator", () => {
    assert.equal(stuff("Subject: x\r\n\r\nno newline"), "Subject: x\r\n\r\nno newline\r\n.\r\n");
    assert.equal(stuff(""), ".\r\n");
  });

  test("TOP: headers, blank line and exactly m body lines", () => {
    const message = "A: 1\r\nB: 2\r\n\r\nline1\r\n.line2\r\nline3\r\n";
    assert.equal(stuff(message, 0), "A: 1\r\nB: 2\r\n\r\n.\r\n");
    assert.equal(stuff(message, 2), "A: 1\r\nB: 2\r\n\r\nline1\r\n..line2\r\n.\r\n");
    assert.equal(stuff(message, 10), "A: 1\r\nB: 2\r\n\r\nline1\r\n..line2\r\nline3\r\n.\r\n");
    assert.equal(stuff("A: 1\r\nB: 2\r\n", 0), "A: 1\r\nB: 2\r\n.\r\n");
  });

  test("fast-check: any CRLF text survives stuffing and unstuffing byte for byte, at any chunk size", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[.A-Za-z ]{0,12}$/), { maxLength: 12 }),
        fc.integer({ min: 1, max: 17 }),
        (lineList, chunkSize) => {
          const message = lineList.map((line) => `${line}\r\n`).join("");
          const wire = stuff(message, undefined, chunkSize);
          assert.equal(unstuff(wire), message);
          for (const line of wire.slice(0, -3).split("\r\n")) assert.notEqual(line, ".");
        },
      ),
      { numRuns: 200 },
    );
  });

  test("multilineBody closes the source once TOP has what it needs", async () => {
    let returned = false;
    const chunks = [Buffer.from("H: v\r\n\r\nb1\r\n"), Buffer.from("b2\r\nb3\r\n")];
    const source: AsyncIterator<Uint8Array> = {
      next: async () => {
        const value = chunks.shift();
        return value === undefined ? { done: true, value: undefined } : { done: false, value };
      },
      return: async () => {
        returned = true;
        return { done: true, value: undefined };
      },
    };
    const out: Buffer[] = [];
    for await (const chunk of multilineBody(null, source, 1)) out.push(chunk);
    assert.equal(Buffer.concat(out).toString(), "H: v\r\n\r\nb1\r\n.\r\n");
    assert.equal(returned, true);
    assert.equal(chunks.length, 1, "the second chunk was never read");
  });
});
