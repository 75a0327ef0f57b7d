// The webmail's rich-text conversion and sanitizing (web/src/richtext.ts), in Debian's Chromium: it
// needs a real DOM and the real DOMPurify, so the module is bundled by the webmail's own Vite and run in
// a blank page. The text part made from HTML: lists as "- " and "1. ", links as "text <url>", quotes as
// "> "; never a tag, and every word of the HTML kept in order (fast-check); and what is sent has no
// script, no on* handler, no javascript: link. A signature separator keeps its space; the signature
// block swaps as plain text's signature does (fast-check, against withSignature); formatting is told
// from plain lines; a link goes only to an http(s) or mailto URL (fast-check).

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import fc from "fast-check";
import { type Browser, chromium, type Page } from "playwright-core";
import { emptyDraft, newDraft, textToHtml, withSignature } from "../../web/src/draft.js";
import type { Identity } from "../../web/src/jmap.js";
import { clients, needs } from "../support/clients.js";

const identity = (id: string, textSignature: string): Identity => ({
  id,
  name: "",
  email: "alice@example.org",
  textSignature,
  mayDelete: true,
});
const work = identity("work", "Alice\nat work");
const home = identity("home", "A. & co");
const none = identity("none", "");

const webDir = fileURLToPath(new URL("../../web/", import.meta.url));

/** web/src/richtext.ts and what it imports, as one script defining the global `richtext`. */
async function bundle(): Promise<string> {
  const vite = await import(pathToFileURL(createRequire(`${webDir}package.json`).resolve("vite")).href);
  const built = await vite.build({
    configFile: false,
    logLevel: "silent",
    root: webDir,
    build: {
      write: false,
      minify: false,
      lib: { entry: `${webDir}src/richtext.ts`, formats: ["iife"], name: "richtext" },
    },
  });
  return (Array.isArray(built) ? built[0] : built).output[0].code;
}

describe("webmail rich text", { skip: needs(clients.chromium) }, () => {
  let browser: Browser;
  let page: Page;

  before(async () => {
    const script = await bundle();
    browser = await chromium.launch({ executablePath: clients.chromium.binary, headless: true });
    page = await browser.newPage();
    await page.setContent("<!doctype html><title>richtext</title>");
    await page.addScriptTag({ content: script });
  });
  after(async () => {
    await browser?.close();
  });

  const toText = (html: string) =>
    page.evaluate((markup) => (globalThis as never as Rt).richtext.htmlToText(markup), html);
  const swapped = (html: string, from: Identity, to: Identity) =>
    page.evaluate(([markup, a, b]) => (globalThis as never as Rt).richtext.withHtmlSignature(markup, a, b), [
      html,
      from,
      to,
    ] as const);
  const formatted = (html: string) =>
    page.evaluate((markup) => (globalThis as never as Rt).richtext.hasFormatting(markup), html);
  const target = (typed: string) =>
    page.evaluate((text) => (globalThis as never as Rt).richtext.linkTarget(text), typed);
  /** What compose saves and sends of this markup: the HTML part and the text part. */
  const sent = (html: string) =>
    page.evaluate(
      ([draft, markup]) => {
        const out = (globalThis as never as Rt).richtext.outgoing({ ...draft, html: markup });
        return { html: out.html ?? "", text: out.body };
      },
      [emptyDraft(), html] as const,
    );

  test("lists, links, quotes and breaks become their plain-text forms", async () => {
    assert.equal(
      await toText(
        "<div>Hello <b>there</b>,</div><div><br></div>" +
          "<ul><li>one</li><li>two<ul><li>inner</li></ul></li></ul>" +
          '<ol start="3"><li>third</li><li>fourth<br>wrapped</li></ol>' +
          '<p>See <a href="https://example.org/x">the page</a> or <a href="mailto:a@b.org">a@b.org</a>.</p>' +
          "<blockquote><div>quoted</div><blockquote>deeper</blockquote></blockquote><div>after</div>",
      ),
      [
        "Hello there,",
        "",
        "- one",
        "- two",
        "  - inner",
        "3. third",
        "4. fourth",
        "   wrapped",
        "",
        "See the page <https://example.org/x> or a@b.org.",
        "",
        "> quoted",
        ">> deeper",
        "after",
      ].join("\n"),
    );
    // Markup written as text stays text; entities are decoded once; no-break spaces become spaces.
    assert.equal(await toText("<p>a &lt;b&gt; &amp;amp;&nbsp;c</p>"), "a <b> &amp; c");
    assert.equal(await toText("<pre>  indented\n    more</pre>"), "  indented\n    more");
  });

  test("the text part never holds a tag and keeps every word of the HTML, in order", async () => {
    const word = fc.stringMatching(/^[A-Za-z0-9&"'.,;:!?é-]{1,8}$/);
    const asHtml = (text: string) =>
      text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
    type Tree = { html: string; words: string[] };
    const leaf = word.map((w): Tree => ({ html: ` ${asHtml(w)} `, words: [w] }));
    const { tree } = fc.letrec<{ tree: Tree; node: Tree }>((tie) => ({
      tree: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("node")),
      node: fc
        .tuple(
          fc.constantFrom(
            "b",
            "i",
            "u",
            "strong",
            "em",
            "span",
            "div",
            "p",
            "blockquote",
            "ul",
            "ol",
            "a",
            "br",
          ),
          fc.array(tie("tree"), { minLength: 1, maxLength: 4 }),
        )
        .map(([tag, children]): Tree => {
          const words = children.flatMap((child) => child.words);
          if (tag === "br") return { html: `${children.map((c) => c.html).join("")}<br>`, words };
          const inner =
            tag === "ul" || tag === "ol"
              ? children.map((child) => `<li>${child.html}</li>`).join("")
              : children.map((child) => child.html).join("");
          const open = tag === "a" ? `<a href="https://example.org/${words.length}">` : `<${tag}>`;
          return { html: `${open}${inner}</${tag}>`, words };
        }),
    }));
    const TAG = /<\/?(b|i|u|strong|em|span|div|p|blockquote|ul|ol|li|a|br)\b[^>]*>/i;
    await fc.assert(
      fc.asyncProperty(tree, async ({ html, words }) => {
        const text = await toText(html);
        assert.doesNotMatch(text, TAG, html);
        let from = 0;
        for (const w of words) {
          const at = text.indexOf(w, from);
          assert.notEqual(at, -1, `"${w}" missing from ${JSON.stringify(text)} of ${html}`);
          from = at + w.length;
        }
      }),
      { numRuns: 200 },
    );
  });

  test("what is sent has no script, no handler and no javascript: link, and its text part matches", async () => {
    const { html, text } = await sent(
      '<div onclick="steal()">Hi <b onmouseover="x()">you</b></div><script>steal()</script>' +
        '<img src="x" onerror="steal()" alt="pic"><a href="javascript:steal()">click</a>' +
        '<a href="https://example.org/" onfocus="x()">ok</a><iframe src="https://evil.example/"></iframe>' +
        '<svg><script>steal()</script></svg><form action="https://evil.example/"><input name="p"></form>',
    );
    assert.doesNotMatch(html, /<script|<iframe|<form|<input|javascript:|\son[a-z]+=/i);
    assert.match(html, /<div>Hi <b>you<\/b><\/div>/);
    assert.match(html, /<a href="https:\/\/example.org\/"[^>]*>ok<\/a>/);
    assert.doesNotMatch(text, /steal/);
    assert.equal(text, "Hi you\npicclickok <https://example.org/>");
  });

  test("a signature separator keeps its space in the text part (RFC 3676 §4.3); a bare -- line does not gain one", async () => {
    assert.equal(await toText(textToHtml(`Hi${newDraft(work).body}`, work)), "Hi\n\n-- \nAlice\nat work");
    assert.equal(await toText("<div>Hi</div><div>-- <br>Sig</div>"), "Hi\n-- \nSig");
    assert.equal(await toText("<p>a -- </p><div>--</div><div>--&nbsp;</div>"), "a --\n\n--\n-- ");
    // Quoted, the separator is a quoted line like any other.
    assert.equal(await toText("<blockquote><div>-- </div><div>Bob</div></blockquote>"), "> -- \n> Bob");
  });

  test("the signature block survives sanitizing, and choosing another identity swaps it", async () => {
    const html = textToHtml(`Hello${newDraft(work).body}`, work);
    assert.equal(
      html,
      '<div>Hello</div><div data-signature=""><div><br></div><div>-- </div><div>Alice</div><div>at work</div></div>',
    );
    const out = await sent(html);
    assert.equal(out.html, html);
    assert.equal(out.text, "Hello\n\n-- \nAlice\nat work");

    const toHome = await swapped(html, work, home);
    assert.equal(
      toHome,
      '<div>Hello</div><div data-signature=""><div><br></div><div>-- </div><div>A. &amp; co</div></div>',
    );
    assert.equal(await swapped(toHome, home, none), "<div>Hello</div>");
    // From no signature the new one goes at the end, after the last written line.
    assert.equal(await swapped("<div>Hello</div><div><br></div><div><br></div>", none, home), toHome);
    assert.equal(
      await swapped("<div><br></div>", none, home),
      '<div><br></div><div data-signature=""><div><br></div><div>-- </div><div>A. &amp; co</div></div>',
    );
    // A signature the user edited is theirs: it stays, and no second one is added.
    const edited = html.replace("at work", "at home");
    assert.equal(await swapped(edited, work, home), edited);
  });

  test("in rich text the signature swaps as it does in plain text (fast-check)", async () => {
    const line = fc.array(fc.stringMatching(/^[A-Za-z&<é]{1,6}$/), { maxLength: 4 }).map((w) => w.join(" "));
    const text = fc.array(line, { maxLength: 4 }).map((lines) => lines.join("\n"));
    const signature = fc.array(
      line.filter((l) => l !== ""),
      { minLength: 1, maxLength: 3 },
    );
    const someone = fc
      .option(signature, { nil: undefined })
      .map((lines) => identity("x", lines?.join("\n") ?? ""));
    await fc.assert(
      fc.asyncProperty(text, someone, someone, async (body, from, to) => {
        const plain = withSignature(body + newDraft(from).body, from, to);
        const rich = await swapped(textToHtml(body + newDraft(from).body, from), from, to);
        assert.equal(await toText(rich), await toText(textToHtml(plain, to)));
        assert.equal(await toText(rich), plain.replace(/^\n+|\n+$/g, ""));
      }),
      { numRuns: 150 },
    );
  });

  test("formatting is what plain text cannot keep; lines, spaces and a signature are not", async () => {
    for (const html of [
      "<div>a <b>bold</b> word</div>",
      "<div><i>it</i></div>",
      "<u>under</u>",
      "<strong>x</strong>",
      '<div><a href="https://example.org/">link</a></div>',
      "<ul><li>one</li></ul>",
      "<ol><li>one</li></ol>",
      "<blockquote>quoted</blockquote>",
    ]) {
      assert.equal(await formatted(html), true, html);
    }
    for (const html of ["", "<div><br></div>", "<p>a</p><div>b<br>c</div>", "<span>x</span>"]) {
      assert.equal(await formatted(html), false, html);
    }
    // What the sanitizer drops is no formatting that switching would lose.
    assert.equal(await formatted('<div onclick="x()">a</div><script>alert(1)</script>'), false);
    const line = fc
      .array(fc.stringMatching(/^[A-Za-z&<>"é*_-]{1,6}$/), { maxLength: 4 })
      .map((w) => w.join(" "));
    const text = fc.array(line, { maxLength: 5 }).map((lines) => lines.join("\n"));
    await fc.assert(
      fc.asyncProperty(text, fc.constantFrom(work, home, none), async (body, who) => {
        const html = textToHtml(body + newDraft(who).body, who);
        assert.equal(await formatted(html), false, html);
        assert.equal(await formatted(`${html}<div><b>${html}</b></div>`), true);
      }),
      { numRuns: 100 },
    );
  });

  test("a link goes only to a whole http(s) or mailto URL", async () => {
    assert.equal(await target("https://example.org"), "https://example.org/");
    assert.equal(await target("  HTTP://Example.org/a b?c "), "http://example.org/a%20b?c");
    assert.equal(await target("mailto:bob@example.net"), "mailto:bob@example.net");
    for (const typed of [
      "",
      "example.org",
      "javascript:alert(1)",
      " JavaScript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "file:///etc/passwd",
      "ftp://example.org/",
      "https://",
      "mailto:",
      "//example.org/",
    ]) {
      assert.equal(await target(typed), null, typed);
    }
    await fc.assert(
      fc.asyncProperty(fc.webUrl({ withQueryParameters: true, withFragments: true }), async (url) => {
        assert.equal(await target(url), new URL(url).href);
      }),
      { numRuns: 100 },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary" }), async (typed) => {
        const href = await target(typed);
        assert.ok(href === null || /^(https?:\/\/[^/]|mailto:.)/.test(href), `${typed} -> ${href}`);
      }),
      { numRuns: 300 },
    );
  });
});

/** The bundle's global, as the page has it. */
interface Rt {
  richtext: {
    withHtmlSignature(html: string, from: Identity, to: Identity): string;
    hasFormatting(html: string): boolean;
    linkTarget(typed: string): string | null;
    htmlToText(html: string): string;
    outgoing(draft: ReturnType<typeof emptyDraft>): ReturnType<typeof emptyDraft>;
  };
}
