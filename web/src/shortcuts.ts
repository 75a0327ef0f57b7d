// Keyboard shortcuts as Gmail has them, so hands that know one know this: j/k next and previous
// message, Enter open, e archive, # delete.

import { useEffect, useRef } from "preact/hooks";

export interface Shortcuts {
  next(): void;
  previous(): void;
  open(): void;
  archive(): void;
  remove(): void;
}

/** Listens on the document; off while typing in a field, and with Ctrl, Alt or Meta held. */
export function useShortcuts(shortcuts: Shortcuts): void {
  // The handler is added once; it calls whatever the latest render passed.
  const latest = useRef(shortcuts);
  latest.current = shortcuts;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.altKey || event.metaKey) return;
      const target = event.target instanceof Element ? event.target : null;
      if (target?.closest("input, textarea, select, [contenteditable]")) return;
      const act = latest.current;
      const action: Record<string, (() => void) | undefined> = {
        j: act.next,
        k: act.previous,
        // A focused button or link opens itself on Enter; doing it again here would do it twice.
        Enter: target?.closest("button, a") ? undefined : act.open,
        e: act.archive,
        "#": act.remove,
      };
      const run = action[event.key];
      if (!run) return;
      event.preventDefault();
      run();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
}
