import "../files.css";
import type { RouterOutputs } from "@airlock/api/router";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ConfirmDialog } from "../components/dialog.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/states.tsx";
import { describeError } from "../lib/errors.ts";
import { formatCount, formatDate, formatWhen, isoDate } from "../lib/format.ts";
import { useTRPC } from "../lib/trpc.ts";

type QueueInfo = RouterOutputs["admin"]["queues"]["list"][number];
type QueueName = QueueInfo["name"];
type FailedJob = RouterOutputs["admin"]["queues"]["failed"]["jobs"][number];

/** Counts change every second under load: refresh at a calm pace, and at once after any action. */
const REFRESH_MS = 5_000;
const STATES = ["waiting", "prioritized", "delayed", "active", "failed", "completed"] as const;
const STATE_LABEL: Record<(typeof STATES)[number], string> = {
  waiting: "Waiting",
  prioritized: "Prioritized",
  delayed: "Delayed",
  active: "Active",
  failed: "Failed",
  completed: "Completed",
};

/** What each queue is for, in words (DESIGN §6). */
const QUEUE_TEXT: Record<string, string> = {
  "asset-virus-scan": "Malware scans of confirmed uploads",
  "upload-cleanup": "Cleanup runs (hourly and on demand)",
  "asset-thumbnail": "Thumbnails of clean images",
  notifications: "E-mail and in-app notifications",
  "webhook-delivery": "Signed webhook deliveries",
  "alerts-evaluate": "Alert rule evaluation (every minute)",
  "upload-reconcile": "Re-queues uploads stuck before their scan",
};

/** Background queues (BullMQ): counts per state, and the failed jobs with their reasons, to retry or remove. */
export function QueuesPage() {
  const trpc = useTRPC();
  const queues = useQuery({ ...trpc.admin.queues.list.queryOptions(), refetchInterval: REFRESH_MS });
  const [chosen, setChosen] = useState<QueueName | null>(null);
  const withFailures = queues.data?.filter((q) => q.counts.failed > 0) ?? [];
  const selected = chosen ?? withFailures[0]?.name ?? null;

  return (
    <>
      <PageHeader
        title="Queues"
        description="Waiting, active, delayed and failed jobs of each background queue (scan, thumbnail, notifications, webhooks, cleanup)."
        actions={
          queues.dataUpdatedAt ? (
            <span className="count">
              Refreshed every {REFRESH_MS / 1000} s · last {new Date(queues.dataUpdatedAt).toLocaleTimeString()}
            </span>
          ) : null
        }
      />
      {queues.isPending ? (
        <LoadingState label="Loading queues…" />
      ) : queues.isError ? (
        <ErrorState error={queues.error} title="Could not read the queues" onRetry={() => void queues.refetch()} />
      ) : (
        <>
          <div className="table-wrap panel">
            <table className="table">
              <caption className="visually-hidden">Jobs per queue and state</caption>
              <thead>
                <tr>
                  <th scope="col">Queue</th>
                  {STATES.map((s) => (
                    <th key={s} scope="col" className="numeric">
                      {STATE_LABEL[s]}
                    </th>
                  ))}
                  <th scope="col">
                    <span className="visually-hidden">Failed jobs</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {queues.data.map((q) => (
                  <tr key={q.name} data-queue={q.name} className={q.name === selected ? "row-selected" : undefined}>
                    <td>
                      <span className="cell-primary queue-name">{q.name}</span>
                      <span className="cell-secondary">
                        {QUEUE_TEXT[q.name] ?? ""}
                        {q.paused ? " · paused" : ""}
                      </span>
                    </td>
                    {STATES.map((s) => (
                      <td key={s} className={`numeric ${q.counts[s] === 0 ? "count-zero" : s === "failed" ? "count-failed" : ""}`}>
                        {formatCount(q.counts[s])}
                      </td>
                    ))}
                    <td className="actions">
                      {q.counts.failed > 0 ? (
                        <button
                          type="button"
                          className="button button-small"
                          onClick={() => setChosen(q.name)}
                          aria-label={`Show failed jobs of ${q.name}`}
                          aria-pressed={q.name === selected}
                        >
                          Failed jobs
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {selected ? (
            <FailedJobs queue={selected} />
          ) : (
            <EmptyState title="No failed jobs">
              <p>Every queue is healthy: nothing needs a retry.</p>
            </EmptyState>
          )}
        </>
      )}
    </>
  );
}

function FailedJobs({ queue }: { queue: QueueName }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const failed = useQuery({
    ...trpc.admin.queues.failed.queryOptions({ queue, limit: 50 }, { placeholderData: keepPreviousData }),
    refetchInterval: REFRESH_MS,
  });
  const [removing, setRemoving] = useState<FailedJob | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.admin.queues.pathKey() });
  const retry = useMutation(
    trpc.admin.queues.retry.mutationOptions({
      onSuccess: (r) => {
        setMessage(`Job ${r.jobId} is back in the queue.`);
        void refresh();
      },
      onError: (e) => setMessage(describeError(e)),
    }),
  );
  const remove = useMutation(
    trpc.admin.queues.remove.mutationOptions({
      onSuccess: (r) => {
        setRemoving(null);
        setMessage(`Job ${r.jobId} was removed.`);
        void refresh();
      },
    }),
  );

  return (
    <section className="panel" aria-labelledby="failed-title">
      <div className="panel-header">
        <h2 id="failed-title">
          Failed jobs of <span className="queue-name">{queue}</span>
        </h2>
        {failed.data ? <p className="hint">{formatCount(failed.data.total)} failed, newest first</p> : null}
      </div>
      {message ? (
        <p className="success-note" role="status">
          {message}
        </p>
      ) : null}
      {failed.isPending ? (
        <LoadingState label="Loading failed jobs…" />
      ) : failed.isError ? (
        <ErrorState error={failed.error} title="Could not load the failed jobs" onRetry={() => void failed.refetch()} />
      ) : failed.data.jobs.length === 0 ? (
        <EmptyState title="No failed jobs in this queue" />
      ) : (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Failed jobs</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Reason</th>
                <th scope="col" className="numeric">
                  Attempts
                </th>
                <th scope="col">Failed</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {failed.data.jobs.map((job) => (
                <tr key={job.id} data-job-id={job.id}>
                  <td>
                    <span className="cell-primary mono">{job.id}</span>
                    <span className="cell-secondary">
                      {job.name}
                      {typeof job.data.assetId === "string" ? ` · asset ${job.data.assetId.slice(0, 8)}…` : ""}
                    </span>
                  </td>
                  <td style={{ whiteSpace: "normal" }}>
                    <span className="reason reason-danger">{job.failedReason}</span>
                    {job.stack ? (
                      <details>
                        <summary className="hint">Stack trace</summary>
                        <pre className="pre">{job.stack}</pre>
                      </details>
                    ) : null}
                  </td>
                  <td className="numeric">
                    {job.attemptsMade} of {job.attempts}
                  </td>
                  <td>
                    {job.failedAt ? (
                      <time dateTime={isoDate(job.failedAt)} title={formatDate(job.failedAt)}>
                        {formatWhen(job.failedAt)}
                      </time>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td className="actions">
                    <button
                      type="button"
                      className="button button-small"
                      onClick={() => retry.mutate({ queue, jobId: job.id })}
                      disabled={retry.isPending}
                      aria-label={`Retry job ${job.id}`}
                    >
                      Retry
                    </button>
                    <button
                      type="button"
                      className="button button-small button-danger-quiet"
                      onClick={() => {
                        remove.reset();
                        setRemoving(job);
                      }}
                      aria-label={`Remove job ${job.id}`}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog
        open={removing !== null}
        title={`Remove job ${removing?.id ?? ""}?`}
        confirmLabel="Remove job"
        busyLabel="Removing…"
        busy={remove.isPending}
        error={remove.isError ? describeError(remove.error) : null}
        onConfirm={() => removing && remove.mutate({ queue, jobId: removing.id })}
        onClose={() => setRemoving(null)}
      >
        <p>
          The job and its failure record are deleted and it will not run again.
          {queue === "asset-virus-scan" ? " If its file still waits for a scan, the reconciler queues a new scan for it." : ""}
        </p>
      </ConfirmDialog>
    </section>
  );
}
