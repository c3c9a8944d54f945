import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { describeError } from "../lib/errors.ts";
import { formatDate, formatDuration, formatWhen, isoDate } from "../lib/format.ts";
import { useTRPC } from "../lib/trpc.ts";
import { deliveryState, responseText, type WebhookEndpoint } from "../lib/webhooks.ts";
import { EmptyState, ErrorState, LoadingState } from "./states.tsx";

/** Deliveries retry for minutes: refresh the log at a calm pace while it is open. */
const REFRESH_MS = 5_000;
const PAGE = 50;

const TONE_CLASS = { ok: "status-ok", danger: "status-danger", info: "status-info" } as const;

/** The delivery log of one endpoint, newest first, with a replay per delivery (sent again as a new delivery). */
export function WebhookDeliveries({ endpoint }: { endpoint: WebhookEndpoint }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // Older pages: the cursor of each page after the first (the API pages by delivery id).
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const deliveries = useQuery({
    ...trpc.webhooks.deliveries.queryOptions({ endpointId: endpoint.id, limit: PAGE, cursor }, { placeholderData: keepPreviousData }),
    refetchInterval: REFRESH_MS,
  });
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null);
  const replay = useMutation(
    trpc.webhooks.replay.mutationOptions({
      onSuccess: () => {
        setMessage({ text: "Sent again as a new delivery; it appears at the top of the log.", bad: false });
        setCursors([]);
        void queryClient.invalidateQueries({ queryKey: trpc.webhooks.deliveries.pathKey() });
      },
      onError: (error) => setMessage({ text: describeError(error), bad: true }),
    }),
  );

  return (
    <section className="panel" aria-labelledby="deliveries-title" data-testid="webhook-deliveries">
      <div className="panel-header">
        <h2 id="deliveries-title">
          Deliveries to <span className="mono">{endpoint.url}</span>
        </h2>
        <p className="hint">Newest first · the last attempt of each delivery · refreshed every {REFRESH_MS / 1000} s</p>
      </div>
      {message ? (
        <p className={message.bad ? "form-error" : "success-note"} role={message.bad ? "alert" : "status"}>
          {message.text}
        </p>
      ) : null}
      {deliveries.isPending ? (
        <LoadingState label="Loading deliveries…" />
      ) : deliveries.isError ? (
        <ErrorState error={deliveries.error} title="Could not load the deliveries" onRetry={() => void deliveries.refetch()} />
      ) : deliveries.data.items.length === 0 ? (
        <EmptyState title="No deliveries yet">
          <p>Deliveries appear here when an event this endpoint subscribes to happens.</p>
        </EmptyState>
      ) : (
        <>
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Webhook deliveries</caption>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">State</th>
                  <th scope="col" className="numeric">
                    Attempt
                  </th>
                  <th scope="col" className="numeric">
                    Status code
                  </th>
                  <th scope="col" className="numeric">
                    Latency
                  </th>
                  <th scope="col">Response</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {deliveries.data.items.map((d) => {
                  const state = deliveryState(d);
                  return (
                    <tr key={d.id} data-delivery-id={d.id}>
                      <td>
                        <span className="cell-primary mono">{d.event}</span>
                        <span className="cell-secondary mono">{d.id.slice(0, 8)}</span>
                      </td>
                      <td>
                        <span className={`status ${TONE_CLASS[state.tone]}`}>{state.label}</span>
                        {d.status === "PENDING" && d.nextAttemptAt ? (
                          <span className="cell-secondary">next {formatWhen(d.nextAttemptAt)}</span>
                        ) : null}
                      </td>
                      <td className="numeric">{d.attempt}</td>
                      <td className="numeric">{d.responseCode ?? "—"}</td>
                      <td className="numeric">{formatDuration(d.latencyMs)}</td>
                      <td className="wrap">
                        <span
                          className={`mono response-excerpt${d.error ? " reason-danger" : ""}`}
                          title={d.error ?? d.responseExcerpt ?? undefined}
                        >
                          {responseText(d)}
                        </span>
                      </td>
                      <td>
                        <time dateTime={isoDate(d.createdAt)} title={formatDate(d.createdAt)}>
                          {formatWhen(d.createdAt)}
                        </time>
                      </td>
                      <td className="actions">
                        <button
                          type="button"
                          className="button button-small"
                          onClick={() => {
                            setMessage(null);
                            replay.mutate({ deliveryId: d.id });
                          }}
                          disabled={replay.isPending || !endpoint.active}
                          title={endpoint.active ? undefined : "Enable the endpoint to replay its deliveries"}
                          aria-label={`Replay delivery ${d.id.slice(0, 8)} (${d.event})`}
                        >
                          Replay
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <div className="table-footer">
            {cursors.length > 0 ? (
              <button type="button" className="button button-small" onClick={() => setCursors((c) => c.slice(0, -1))}>
                Newer
              </button>
            ) : null}
            {deliveries.data.nextCursor ? (
              <button
                type="button"
                className="button button-small"
                onClick={() => {
                  const next = deliveries.data.nextCursor;
                  if (next) setCursors((c) => [...c, next]);
                }}
              >
                Older
              </button>
            ) : null}
          </div>
        </>
      )}
    </section>
  );
}
