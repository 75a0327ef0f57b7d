// The webmail's rich-text conversion and sanitizing (web/src/richtext.ts), in Debian's Chromium: it
// needs a real DOM and the real DOMPurify, so the module is bundled by the webmail's own Vite and run in
// a blank page. The text part made from HTML: lists as "- " and "1. ", links as "text <url>", quotes as
// "> "; never a tag, and every word of the HTML kept in order (fast-check); and what is sent has no
// script, no on* handler, no javascript: link.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import fc from "fast-check";
import { type Browser, chromium, type Page } from "playwright-core";
import { emptyDraft } from "../../web/src/draft.js";
import { clients, needs } from "../support/clients.js";

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
});

/** The bundle's global, as the page has it. */
interface Rt {
  richtext: {
    htmlToText(html: string): string;
    outgoing(draft: ReturnType<typeof emptyDraft>): ReturnType<typeof emptyDraft>;
  };
}
