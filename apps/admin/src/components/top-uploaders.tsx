import type { RouterOutputs } from "@airlock/api/router";
import { formatPercent } from "../lib/dashboard-data.ts";
import { formatBytes, formatCount } from "../lib/format.ts";
import type { PanelQuery } from "./charts/chart-panel.tsx";
import { ErrorState } from "./states.tsx";

type TopUploaders = RouterOutputs["analytics"]["topUploaders"];

/** The users with the most confirmed uploads in the range: count, bytes and their share of all uploads. */
export function TopUploaders({ query, data }: { query: PanelQuery; data: TopUploaders | undefined }) {
  return (
    <section className="chart-panel chart-panel-wide" aria-labelledby="top-uploaders-title" data-testid="top-uploaders">
      <header className="chart-panel-header">
        <h2 id="top-uploaders-title">Top uploaders</h2>
        {data ? (
          <p className="chart-summary">
            {formatCount(data.totalCount)} confirmed uploads · {formatBytes(data.totalBytes)}
          </p>
        ) : null}
      </header>
      {query.isPending ? (
        <div className="skeleton" style={{ height: 160 }} role="status" aria-label="Loading top uploaders…" />
      ) : query.isError || !data ? (
        <ErrorState error={query.error} title="Could not load the top uploaders" onRetry={() => void query.refetch()} />
      ) : data.users.length === 0 ? (
        <div className="chart-empty">
          <p>No uploads in this range.</p>
        </div>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Top uploaders</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col" className="numeric">
                  Uploads
                </th>
                <th scope="col" className="numeric">
                  Bytes
                </th>
                <th scope="col">Share</th>
              </tr>
            </thead>
            <tbody>
              {data.users.map((u) => (
                <tr key={u.userId} data-user={u.email ?? u.userId}>
                  <td>
                    <span className="cell-primary">{u.email ?? "Deleted user"}</span>
                    {u.name ? <span className="cell-secondary">{u.name}</span> : null}
                  </td>
                  <td className="numeric">{formatCount(u.count)}</td>
                  <td className="numeric">{formatBytes(u.bytes)}</td>
                  <td>
                    <span className="share">
                      <span className="share-bar" aria-hidden="true">
                        <span style={{ width: `${Math.round(u.countShare * 100)}%` }} />
                      </span>
                      {formatPercent(u.countShare)}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
