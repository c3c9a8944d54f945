/** Previous / next for cursor-paged tables. */
export function Pager({
  page,
  hasPrevious,
  nextCursor,
  shown,
  busy,
  onPrevious,
  onNext,
}: {
  page: number;
  hasPrevious: boolean;
  nextCursor: string | null | undefined;
  shown: number;
  busy: boolean;
  onPrevious: () => void;
  onNext: (cursor: string) => void;
}) {
  return (
    <nav className="pager" aria-label="Pages">
      <span>
        Page {page} · {shown} shown{busy ? " · updating…" : ""}
      </span>
      <span className="pager-buttons">
        <button type="button" className="button button-small" onClick={onPrevious} disabled={!hasPrevious || busy}>
          Previous
        </button>
        <button
          type="button"
          className="button button-small"
          onClick={() => nextCursor && onNext(nextCursor)}
          disabled={!nextCursor || busy}
        >
          Next
        </button>
      </span>
    </nav>
  );
}
