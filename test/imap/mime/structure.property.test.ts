import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { bodyStructureOf } from "../../../src/imap/mime/bodystructure.js";
import { envelopeOf } from "../../../src/imap/mime/envelope.js";
import { sectionBytes } from "../../../src/imap/mime/section.js";
import { encodeValue } from "../../../src/imap/protocol/value.js";
import { type MessagePart, parseMessageStructure } from "../../../src/mail/mime/structure.js";
import { mimeLineArb } from "../../support/mime-lines.js";
import { checkBody, checkEnvelope } from "./grammar.js";

function assertWithin(part: MessagePart, lo: number, hi: number, length: number): void {
  assert.ok(0 <= lo && lo <= part.headerStart, "headerStart");
  assert.ok(part.headerStart <= part.headerEnd && part.headerEnd === part.bodyStart, "header span");
  assert.ok(part.bodyStart <= part.bodyEnd && part.bodyEnd <= hi && hi <= length, "body span");
  assert.equal(part.size, part.bodyEnd - part.bodyStart);
  for (const f of part.fields) assert.ok(part.headerStart <= f.start && f.end <= part.headerEnd);
  if (part.type === "multipart") assert.ok(part.children.length >= 1);
  for (const child of part.children) assertWithin(child, part.bodyStart, part.bodyEnd, length);
  if (part.message !== null) assertWithin(part.message, part.bodyStart, part.bodyEnd, length);
}

function checkAll(message: Buffer): void {
  const root = parseMessageStructure(message);
  assertWithin(root, 0, message.length, message.length);
  checkBody(encodeValue(bodyStructureOf(root, message, true)));
  checkBody(encodeValue(bodyStructureOf(root, message, false)));
  checkEnvelope(encodeValue(envelopeOf(root, message)));
  assert.deepEqual(sectionBytes(message, root, { part: [] }), message);
}

const lineArb = mimeLineArb();

describe("parseMessageStructure properties", () => {
  test("never throws, offsets stay inside the buffer, output follows RFC 9051 grammar: arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => checkAll(Buffer.from(bytes))),
      { numRuns: 200 },
    );
  });

  test("same for MIME-like line soup", () => {
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 40 }), fc.constantFrom("\r\n", "\n"), (lines, eol) => {
        const header = "Content-Type: multipart/mixed; boundary=b";
        checkAll(Buffer.from([header, ...lines].join(eol), "utf8"));
      }),
      { numRuns: 200 },
    );
  });

  type Tree = { leaf: string } | { parts: Tree[] };
  const treeArb: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
    tree: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.record({ leaf: fc.stringMatching(/^[a-z \r\n]{0,20}$/) }),
      fc.record({ parts: fc.array(tie("tree"), { minLength: 1, maxLength: 3 }) }),
    ),
  })).tree;

  let boundaryCounter = 0;
  function render(tree: Tree): { text: string; leaves: string[] } {
    if ("leaf" in tree) {
      // A leaf body must not end in a bare CR that would merge with the delimiter's CRLF.
      const body = tree.leaf.replace(/\r(?!\n)/g, "").replace(/\r?\n$/, "x");
      return { text: `Content-Type: text/plain\r\n\r\n${body}`, leaves: [body] };
    }
    const boundary = `bnd${boundaryCounter++}`;
    const rendered = tree.parts.map(render);
    const text =
      `Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\npreamble\r\n` +
      rendered.map((r) => `--${boundary}\r\n${r.text}\r\n`).join("") +
      `--${boundary}--\r\nepilogue`;
    return { text, leaves: rendered.flatMap((r) => r.leaves) };
  }

  function leafPaths(tree: Tree, prefix: number[]): number[][] {
    if ("leaf" in tree) return [prefix.length === 0 ? [1] : prefix];
    return tree.parts.flatMap((t, i) => leafPaths(t, [...prefix, i + 1]));
  }

  test("generated nested multiparts: every leaf section returns exactly the generated body", () => {
    fc.assert(
      fc.property(treeArb, (tree) => {
        const { text, leaves } = render(tree);
        const message = Buffer.from(text, "latin1");
        checkAll(message);
        const root = parseMessageStructure(message);
        const paths = leafPaths(tree, []);
        assert.equal(paths.length, leaves.length);
        paths.forEach((path, i) => {
          assert.equal(sectionBytes(message, root, { part: path })?.toString("latin1"), leaves[i]);
        });
      }),
      { numRuns: 150 },
    );
  });

  test("deep nesting is capped instead of recursing without bound", () => {
    const depth = 5000;
    const message = Buffer.from(`${"Content-Type: message/rfc822\r\n\r\n".repeat(depth)}end`);
    const root = parseMessageStructure(message);
    let levels = 0;
    for (let p: MessagePart | null = root; p !== null; p = p.message) levels++;
    assert.ok(levels <= 52, `levels ${levels}`);
    checkAll(message);
  });

  test("a large flat multipart parses in linear time", () => {
    const parts = 20000;
    const message = Buffer.from(
      `Content-Type: multipart/mixed; boundary=q\r\n\r\n${"--q\r\n\r\nx\r\n".repeat(parts)}--q--\r\n`,
    );
    const root = parseMessageStructure(message);
    assert.equal(root.children.length, parts);
  });
});
