// The message list's window onto a long result (issue 15: a 10,000-message mailbox stays fast): which
// rows are in the DOM for a scroll position, and which pages of the Email/query result they need,
// fetched by position (RFC 8620 §5.5 `position` and `limit`). Pure, so it is tested without a browser.

/** Rows of the list, fixed in height so a row's place follows from its index alone. */
export interface Viewport {
  scrollTop: number;
  /** The scrolling element's visible height. */
  height: number;
  rowHeight: number;
  total: number;
  /** Rows kept in the DOM beyond each edge, so a short scroll shows rows already there. */
  overscan: number;
}

/** The rows to render: indexes from `start` up to, not including, `end`. */
export interface RowRange {
  start: number;
  end: number;
}

export function visibleRows(view: Viewport): RowRange {
  if (view.total <= 0 || view.rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, view.scrollTop) / view.rowHeight);
  const shown = Math.ceil(Math.max(0, view.height) / view.rowHeight) + 1;
  const start = Math.min(Math.max(0, first - view.overscan), view.total - 1);
  const end = Math.min(view.total, first + shown + view.overscan);
  return { start, end: Math.max(start, end) };
}

/** The page numbers (each `pageSize` rows from position page × pageSize) that hold these rows. */
export function pagesFor(range: RowRange, pageSize: number): number[] {
  if (range.end <= range.start) return [];
  const pages: number[] = [];
  for (let page = Math.floor(range.start / pageSize); page * pageSize < range.end; page++) pages.push(page);
  return pages;
}

/** Where the list must scroll to so row `index` is wholly in view; the same place when it is. */
export function scrollToShow(index: number, scrollTop: number, height: number, rowHeight: number): number {
  const top = index * rowHeight;
  if (top < scrollTop) return top;
  if (top + rowHeight > scrollTop + height) return Math.max(0, top + rowHeight - height);
  return scrollTop;
}

/** An index moved by `by` and kept within a list of `total` rows; from nowhere (null), the first. */
export function stepIndex(index: number | null, by: number, total: number): number | null {
  if (total <= 0) return null;
  if (index === null) return 0;
  return Math.min(Math.max(index + by, 0), total - 1);
}
