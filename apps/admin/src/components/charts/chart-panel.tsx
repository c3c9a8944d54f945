import type { ReactNode } from "react";
import { ErrorState } from "../states.tsx";
import { CHART_HEIGHT } from "./theme.ts";

/** What a chart panel needs to know of its query (a TanStack Query result fits). */
export interface PanelQuery {
  isPending: boolean;
  isError: boolean;
  error: unknown;
  refetch: () => unknown;
}

/**
 * A titled dashboard panel around one chart: a skeleton while the first answer loads, the error in
 * words with a retry, or an empty state when the range holds nothing to draw. `summary` is a line of
 * numbers under the title, readable without the chart.
 */
export function ChartPanel({
  id,
  title,
  summary,
  query,
  empty,
  emptyText = "No uploads in this range.",
  wide = false,
  children,
}: {
  id: string;
  title: string;
  summary?: ReactNode;
  query: PanelQuery;
  /** True when the answer holds nothing to draw. */
  empty: boolean;
  emptyText?: string;
  wide?: boolean;
  children: () => ReactNode;
}) {
  const titleId = `${id}-title`;
  return (
    <section className={`chart-panel${wide ? " chart-panel-wide" : ""}`} aria-labelledby={titleId} data-testid={id}>
      <header className="chart-panel-header">
        <h2 id={titleId}>{title}</h2>
        {summary && !query.isPending && !query.isError ? <p className="chart-summary">{summary}</p> : null}
      </header>
      {query.isPending ? (
        <div className="skeleton" style={{ height: CHART_HEIGHT }} role="status" aria-label={`Loading ${title.toLowerCase()}…`} />
      ) : query.isError ? (
        <ErrorState error={query.error} title={`Could not load ${title.toLowerCase()}`} onRetry={() => void query.refetch()} />
      ) : empty ? (
        <div className="chart-empty" style={{ minHeight: CHART_HEIGHT }}>
          <p>{emptyText}</p>
        </div>
      ) : (
        <figure className="chart" aria-label={title}>
          {children()}
        </figure>
      )}
    </section>
  );
}
