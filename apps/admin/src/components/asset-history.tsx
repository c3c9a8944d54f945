import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { formatBytes, formatDate, formatDuration, formatWhen, isoDate, mimeLabel } from "../lib/format.ts";
import { useTRPC } from "../lib/trpc.ts";
import { ErrorState, LoadingState } from "./states.tsx";

const EVENT_TEXT: Record<string, string> = {
  INITIATED: "Upload started",
  CONFIRMED: "Upload confirmed",
  SCANNED: "Scanned",
  QUARANTINED: "Quarantined",
  FAILED: "Failed",
  DELETED: "Deleted",
};

const SEVERITY_CLASS: Record<string, string> = { CRITICAL: "status-danger", WARNING: "status-info", INFO: "status-muted" };

/** The details of one upload event in words: type and size, scan engine and time, or the reason. */
function eventDetail(e: {
  mime: string | null;
  size: number | null;
  durationMs: number | null;
  engine: string | null;
  reason: string | null;
}) {
  return [
    e.mime ? mimeLabel(e.mime) : null,
    e.size !== null ? formatBytes(e.size) : null,
    e.engine ? `by ${e.engine}` : null,
    e.durationMs !== null ? `in ${formatDuration(e.durationMs)}` : null,
    e.reason,
  ]
    .filter(Boolean)
    .join(" · ");
}

/** `{"threats":["x"]}` → `threats: x`, short enough for a table cell. */
function detailsText(details: unknown): string {
  if (!details || typeof details !== "object") return "";
  return Object.entries(details as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(" · ");
}

/** The asset's timeline (UploadEvent rows) and the security events logged about it (admin.assets.history). */
export function AssetHistory({ assetId, status }: { assetId: string; status: string }) {
  const trpc = useTRPC();
  const history = useQuery(trpc.admin.assets.history.queryOptions({ assetId }));
  // The drawer's status follows live events: a new status means new rows here too.
  const seen = useRef(status);
  const { refetch } = history;
  useEffect(() => {
    if (seen.current === status) return;
    seen.current = status;
    void refetch();
  }, [status, refetch]);
  if (history.isPending) return <LoadingState label="Loading the asset's history…" />;
  if (history.isError)
    return <ErrorState error={history.error} title="Could not load the asset's history" onRetry={() => void history.refetch()} />;
  const { events, securityEvents } = history.data;
  return (
    <>
      <section aria-labelledby="timeline-title">
        <h3 id="timeline-title" className="section-title">
          Timeline
        </h3>
        {events.length === 0 ? (
          <p className="muted">No events recorded for this asset.</p>
        ) : (
          <ol className="timeline" aria-label="Upload events">
            {events.map((e) => (
              <li key={e.id} className={`timeline-item timeline-${e.type.toLowerCase()}`}>
                <span className="timeline-title">{EVENT_TEXT[e.type] ?? e.type}</span>
                <time dateTime={isoDate(e.at)} title={formatDate(e.at)} className="timeline-time">
                  {formatWhen(e.at)}
                </time>
                {eventDetail(e) ? <span className="timeline-detail">{eventDetail(e)}</span> : null}
              </li>
            ))}
          </ol>
        )}
      </section>
      <section aria-labelledby="security-title">
        <h3 id="security-title" className="section-title">
          Security events
        </h3>
        {securityEvents.length === 0 ? (
          <p className="muted">No security events for this asset.</p>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Security events</caption>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Details</th>
                  <th scope="col">When</th>
                </tr>
              </thead>
              <tbody>
                {securityEvents.map((s) => (
                  <tr key={s.id}>
                    <td className="mono">{s.type}</td>
                    <td>
                      <span className={`status ${SEVERITY_CLASS[s.severity] ?? "status-muted"}`}>{s.severity.toLowerCase()}</span>
                    </td>
                    <td className="wrap">{detailsText(s.details) || "—"}</td>
                    <td>
                      <time dateTime={isoDate(s.at)} title={formatDate(s.at)}>
                        {formatWhen(s.at)}
                      </time>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
