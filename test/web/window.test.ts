// The webmail's list window (web/src/window.ts): which rows a scroll position puts in the DOM, which
// position pages hold them, where the list scrolls to show a row, and how the cursor steps — for
// every geometry (fast-check), the rendered rows cover what is visible and stay bounded by the
// viewport, never by the size of the mailbox.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { pagesFor, scrollToShow, stepIndex, visibleRows } from "../../web/src/window.js";

const ROW = 68;

describe("the message list's window", () => {
  test("at the top of 10,000 rows, only a screenful and the overscan", () => {
    assert.deepEqual(
      visibleRows({ scrollTop: 0, height: 680, rowHeight: ROW, total: 10_000, overscan: 10 }),
      { start: 0, end: 21 },
    );
    assert.deepEqual(
      visibleRows({ scrollTop: 5000 * ROW + 10, height: 680, rowHeight: ROW, total: 10_000, overscan: 10 }),
      { start: 4990, end: 5021 },
    );
    assert.deepEqual(
      visibleRows({ scrollTop: 10_000 * ROW, height: 680, rowHeight: ROW, total: 10_000, overscan: 10 }),
      { start: 9990, end: 10_000 },
      "scrolled past the end: the last rows",
    );
    assert.deepEqual(visibleRows({ scrollTop: 0, height: 680, rowHeight: ROW, total: 0, overscan: 10 }), {
      start: 0,
      end: 0,
    });
  });

  test("pages by position: the ones that hold the rows, each once", () => {
    assert.deepEqual(pagesFor({ start: 0, end: 21 }, 50), [0]);
    assert.deepEqual(pagesFor({ start: 40, end: 61 }, 50), [0, 1]);
    assert.deepEqual(pagesFor({ start: 4990, end: 5021 }, 50), [99, 100]);
    assert.deepEqual(pagesFor({ start: 5, end: 5 }, 50), []);
  });

  test("every visible row is rendered, and no more than a screenful and the overscan", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 0, max: 2_000_000 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 0, max: 20 }),
        (total, scroll, height, overscan) => {
          const scrollTop = Math.min(scroll, Math.max(0, total * ROW - height));
          const range = visibleRows({ scrollTop, height, rowHeight: ROW, total, overscan });
          const firstVisible = Math.floor(scrollTop / ROW);
          const lastVisible = Math.min(total - 1, Math.floor((scrollTop + height - 1) / ROW));
          assert.ok(range.start <= firstVisible && range.end > lastVisible, JSON.stringify(range));
          assert.ok(range.end - range.start <= Math.ceil(height / ROW) + 1 + 2 * overscan);
          assert.ok(range.start >= 0 && range.end <= total);
          const pages = pagesFor(range, 50);
          for (let row = range.start; row < range.end; row++) assert.ok(pages.includes(Math.floor(row / 50)));
        },
      ),
    );
  });

  test("scrolling to show a row moves only as far as needed", () => {
    assert.equal(scrollToShow(3, 0, 680, ROW), 0, "already in view");
    assert.equal(scrollToShow(10, 0, 680, ROW), 11 * ROW - 680, "below: its bottom at the bottom");
    assert.equal(scrollToShow(2, 1000, 680, ROW), 2 * ROW, "above: at the top");
  });

  test("the cursor steps within the list; from nowhere it starts at the first row", () => {
    assert.equal(stepIndex(null, 1, 5), 0);
    assert.equal(stepIndex(null, -1, 5), 0);
    assert.equal(stepIndex(4, 1, 5), 4);
    assert.equal(stepIndex(0, -1, 5), 0);
    assert.equal(stepIndex(2, 1, 5), 3);
    assert.equal(stepIndex(2, 1, 0), null);
  });
});
