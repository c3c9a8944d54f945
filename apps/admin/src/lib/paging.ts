import { useState } from "react";

/**
 * Forward-only cursor paging (what `upload.list` offers) with a way back: the cursors of the pages
 * already seen are kept, so "Previous" is exact. Changing `resetKey` (the filters) starts over.
 */
export function useCursorPaging(resetKey: string) {
  const [state, setState] = useState<{ key: string; cursors: Array<string | undefined> }>({ key: resetKey, cursors: [undefined] });
  const cursors = state.key === resetKey ? state.cursors : [undefined];
  if (state.key !== resetKey) setState({ key: resetKey, cursors });
  const page = cursors.length;
  return {
    cursor: cursors.at(-1),
    page,
    hasPrevious: page > 1,
    next(nextCursor: string) {
      setState({ key: resetKey, cursors: [...cursors, nextCursor] });
    },
    previous() {
      setState({ key: resetKey, cursors: cursors.slice(0, -1) });
    },
  };
}
