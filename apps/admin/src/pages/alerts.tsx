import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { PageHeader } from "../components/page-header.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/states.tsx";
import { useTRPC } from "../lib/trpc.ts";

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** How each rule's value and threshold read to a person. */
const ruleText: Record<string, { title: string; format: (v: number) => string }> = {
  upload_success_rate: { title: "Upload success rate", format: (v) => `${(v * 100).toFixed(1)} %` },
  scan_time: { title: "Scan time (p95 or slowest)", format: (v) => `${(v / 1000).toFixed(1)} s` },
  virus_detected: { title: "Virus detected", format: (v) => `${v} detection${v === 1 ? "" : "s"}` },
  scan_queue_depth: { title: "Scan queue depth", format: (v) => `${v} jobs` },
  cleanup_failures: { title: "Cleanup failures", format: (v) => `${v} item${v === 1 ? "" : "s"}` },
};
const describe = (rule: string) => ruleText[rule] ?? { title: rule, format: (v: number) => String(v) };

export function AlertsPage() {
  const trpc = useTRPC();
  const [state, setState] = useState<"FIRING" | "RESOLVED" | undefined>(undefined);
  // Alerts are evaluated every minute; refresh at that pace too.
  const alerts = useQuery({ ...trpc.alerts.list.queryOptions({ state, limit: 100 }), refetchInterval: 30_000 });

  return (
    <>
      <PageHeader
        title="Alerts"
        description="Rules watching the upload success rate, scan times, infections, the scan queue and cleanup. An alert fires once and resolves when its condition clears."
        actions={
          <label className="inline-field">
            <span>Show</span>
            <select value={state ?? ""} onChange={(e) => setState((e.target.value || undefined) as typeof state)}>
              <option value="">All alerts</option>
              <option value="FIRING">Firing</option>
              <option value="RESOLVED">Resolved</option>
            </select>
          </label>
        }
      />
      {alerts.isPending ? (
        <LoadingState label="Loading alerts…" />
      ) : alerts.isError ? (
        <ErrorState error={alerts.error} title="Could not load the alerts" onRetry={() => void alerts.refetch()} />
      ) : alerts.data.length === 0 ? (
        <EmptyState title={state === "FIRING" ? "Nothing is firing" : "No alerts yet"}>
          <p>All rules are within their thresholds.</p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Alerts</caption>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">State</th>
                <th scope="col">Severity</th>
                <th scope="col" className="numeric">
                  Value
                </th>
                <th scope="col" className="numeric">
                  Threshold
                </th>
                <th scope="col">Fired</th>
                <th scope="col">Resolved</th>
              </tr>
            </thead>
            <tbody>
              {alerts.data.map((alert) => {
                const text = describe(alert.rule);
                return (
                  <tr key={alert.id}>
                    <td>
                      <span className="cell-primary">{text.title}</span>
                      <span className="cell-secondary">{alert.rule}</span>
                    </td>
                    <td>
                      <span className={`badge ${alert.state === "FIRING" ? "badge-danger" : "badge-ok"}`}>
                        {alert.state === "FIRING" ? "Firing" : "Resolved"}
                      </span>
                    </td>
                    <td>{alert.severity.toLowerCase()}</td>
                    <td className="numeric">{text.format(alert.value)}</td>
                    <td className="numeric">{text.format(alert.threshold)}</td>
                    <td>
                      <time dateTime={new Date(alert.firedAt).toISOString()}>{dateFormat.format(new Date(alert.firedAt))}</time>
                    </td>
                    <td>{alert.resolvedAt ? dateFormat.format(new Date(alert.resolvedAt)) : "—"}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
