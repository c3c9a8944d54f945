import "../files.css";
import type { RouterOutputs } from "@airlock/api/router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { ConfirmDialog } from "../components/dialog.tsx";
import { LiveIndicator } from "../components/live-indicator.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/states.tsx";
import { describeError } from "../lib/errors.ts";
import { formatBytes, formatCount, formatDate, formatDuration, formatWhen, isoDate } from "../lib/format.ts";
import { useLiveEvents } from "../lib/live.ts";
import { useTRPC } from "../lib/trpc.ts";

type Preview = RouterOutputs["admin"]["cleanup"]["preview"];
type Run = RouterOutputs["admin"]["cleanup"]["history"][number];
type Category = keyof Preview["counts"];

const CATEGORIES: Array<{ id: Category; label: string; hint: string }> = [
  { id: "abandoned", label: "Abandoned uploads", hint: "started but never finished" },
  { id: "failed", label: "Failed uploads", hint: "rejected at confirmation or unscannable for good" },
  { id: "quarantined", label: "Old quarantine", hint: "quarantined longer than the retention period" },
  { id: "orphans", label: "Orphan objects", hint: "stored objects that belong to no live asset" },
];
const labelOf = (id: string) => CATEGORIES.find((c) => c.id === id)?.label ?? id;

interface RunCounts {
  count: number;
  bytes: number;
}

/** Items a history row covers, from its stored per-category counts (JSON written by runCleanup). */
function itemsOf(run: Run): number {
  const counts = run.counts as Record<string, RunCounts | unknown>;
  return CATEGORIES.reduce((sum, c) => sum + ((counts[c.id] as RunCounts | undefined)?.count ?? 0), 0);
}

function errorsOf(run: Run): number {
  return Array.isArray(run.errors) ? run.errors.length : 0;
}

/**
 * Cleanup reclaims abandoned, failed and long-quarantined uploads and orphan objects. A dry run
 * (answered at once by the API) shows what a run would delete; a real run is queued for the worker
 * and lands in the history, which refreshes when the worker announces `cleanup.completed`.
 */
export function CleanupPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [categories, setCategories] = useState<Set<Category>>(new Set(CATEGORIES.map((c) => c.id)));
  const [olderThan, setOlderThan] = useState("");
  const [confirming, setConfirming] = useState(false);
  /** The real run started from this page: queued, then finished (from the worker's event). */
  const [runState, setRunState] = useState<
    { phase: "queued"; jobId: string } | { phase: "done"; bytesFreed: number; errors: number } | null
  >(null);
  const history = useQuery(trpc.admin.cleanup.history.queryOptions({ limit: 20 }));
  const refreshHistory = () => queryClient.invalidateQueries({ queryKey: trpc.admin.cleanup.history.pathKey() });

  const request = () => ({
    categories: [...categories],
    olderThanHours: olderThan.trim() ? Number(olderThan) : undefined,
  });
  const preview = useMutation(trpc.admin.cleanup.preview.mutationOptions({ onSuccess: () => void refreshHistory() }));
  const run = useMutation(
    trpc.admin.cleanup.run.mutationOptions({
      onSuccess: ({ jobId }) => {
        setConfirming(false);
        setRunState({ phase: "queued", jobId: jobId ?? "" });
      },
    }),
  );
  const live = useLiveEvents("admin", (event) => {
    if (event.type === "cleanup.completed") {
      void refreshHistory();
      if (!event.dryRun) {
        // What the preview listed is gone now (or changed): show the outcome instead.
        preview.reset();
        setRunState((state) => (state ? { phase: "done", bytesFreed: event.bytesFreed, errors: event.errors } : state));
      }
    }
  });
  const invalidAge = olderThan.trim() !== "" && !(Number(olderThan) > 0);
  const nothingChosen = categories.size === 0;

  function onPreview(event: FormEvent) {
    event.preventDefault();
    if (!invalidAge && !nothingChosen) preview.mutate(request());
  }

  return (
    <>
      <PageHeader
        title="Cleanup"
        description="Reclaim storage from abandoned, failed and long-quarantined uploads and orphan objects. Preview with a dry run, then run it now; the scheduled run does the same every hour."
        actions={<LiveIndicator status={live} />}
      />

      <section className="panel card-panel" aria-labelledby="cleanup-form-title">
        <h2 id="cleanup-form-title" className="section-title">
          What to clean
        </h2>
        <form onSubmit={onPreview} className="form-grid" style={{ marginTop: "0.75rem" }}>
          <fieldset className="checks">
            <legend>Categories</legend>
            {CATEGORIES.map((c) => (
              <label key={c.id} title={c.hint}>
                <input
                  type="checkbox"
                  checked={categories.has(c.id)}
                  onChange={(e) => {
                    const next = new Set(categories);
                    if (e.target.checked) next.add(c.id);
                    else next.delete(c.id);
                    setCategories(next);
                  }}
                />
                {c.label}
              </label>
            ))}
          </fieldset>
          <label className="filter">
            Older than (hours)
            <input
              type="number"
              min="0"
              step="any"
              inputMode="decimal"
              placeholder="configured ages"
              value={olderThan}
              onChange={(e) => setOlderThan(e.target.value)}
              aria-invalid={invalidAge}
              style={{ width: "11rem" }}
            />
          </label>
          <div className="button-row">
            <button type="submit" className="button button-primary" disabled={preview.isPending || invalidAge || nothingChosen}>
              {preview.isPending ? "Previewing…" : "Preview (dry run)"}
            </button>
            <button
              type="button"
              className="button button-danger-quiet"
              disabled={invalidAge || nothingChosen}
              onClick={() => {
                run.reset();
                setConfirming(true);
              }}
            >
              Run cleanup now…
            </button>
          </div>
        </form>
        {invalidAge ? <p className="inline-error">The age must be a positive number of hours.</p> : null}
        {nothingChosen ? <p className="inline-error">Choose at least one category.</p> : null}
        {runState?.phase === "queued" ? (
          <p className="success-note" role="status">
            Cleanup queued{runState.jobId ? ` (job ${runState.jobId})` : ""}. It runs in the background; the result appears in the history
            below.
          </p>
        ) : runState?.phase === "done" ? (
          <p className={runState.errors ? "form-error" : "success-note"} role="status">
            Cleanup finished: {formatBytes(runState.bytesFreed)} freed
            {runState.errors ? `, ${formatCount(runState.errors)} item(s) could not be removed (see the history)` : ""}.
          </p>
        ) : null}
      </section>

      <section className="panel" aria-labelledby="preview-title">
        <div className="panel-header">
          <h2 id="preview-title">Preview</h2>
          {preview.data ? (
            <p className="hint">
              Dry run in {formatDuration(preview.data.durationMs)}: nothing was deleted. A real run now would remove what is listed here.
            </p>
          ) : null}
        </div>
        {preview.isPending ? (
          <LoadingState label="Looking for what can be cleaned…" />
        ) : preview.isError ? (
          <ErrorState error={preview.error} title="The dry run failed" onRetry={() => preview.mutate(request())} />
        ) : preview.data ? (
          <PreviewResult preview={preview.data} />
        ) : (
          <EmptyState title="No preview yet">
            <p>Run a dry run to see how many files and bytes a cleanup would reclaim, with a sample of them.</p>
          </EmptyState>
        )}
      </section>

      <section className="panel" aria-labelledby="history-title">
        <div className="panel-header">
          <h2 id="history-title">History</h2>
          <p className="hint">The last 20 runs, dry runs included.</p>
        </div>
        {history.isPending ? (
          <LoadingState label="Loading the history…" />
        ) : history.isError ? (
          <ErrorState error={history.error} title="Could not load the history" onRetry={() => void history.refetch()} />
        ) : history.data.length === 0 ? (
          <EmptyState title="No cleanup has run yet" />
        ) : (
          <HistoryTable runs={history.data} />
        )}
      </section>

      <ConfirmDialog
        open={confirming}
        title="Run cleanup now?"
        confirmLabel="Delete now"
        busyLabel="Queueing…"
        busy={run.isPending}
        error={run.isError ? describeError(run.error) : null}
        onConfirm={() => run.mutate(request())}
        onClose={() => setConfirming(false)}
      >
        <p>
          This permanently deletes the stored files of: <strong>{[...categories].map(labelOf).join(", ")}</strong>
          {olderThan.trim() ? `, older than ${olderThan} hours` : " (at their configured ages)"}. Their records stay as deleted.
        </p>
        {preview.data ? (
          <p>
            The last preview found{" "}
            <strong>
              {formatCount(Object.values(preview.data.counts).reduce((n, c) => n + c.count, 0))} items (
              {formatBytes(Object.values(preview.data.counts).reduce((n, c) => n + c.bytes, 0))})
            </strong>
            ; the run deletes whatever matches when it starts.
          </p>
        ) : (
          <p>No preview was run: consider a dry run first.</p>
        )}
      </ConfirmDialog>
    </>
  );
}

function PreviewResult({ preview }: { preview: Preview }) {
  const totals = Object.values(preview.counts).reduce((t, c) => ({ count: t.count + c.count, bytes: t.bytes + c.bytes }), {
    count: 0,
    bytes: 0,
  });
  return (
    <div style={{ display: "grid", gap: "1rem" }}>
      <div className="stat-grid" data-testid="cleanup-preview">
        <div className="stat stat-total">
          <div className="stat-label">Would reclaim</div>
          <div className="stat-value">{formatBytes(totals.bytes)}</div>
          <div className="stat-sub">
            {formatCount(totals.count)} item{totals.count === 1 ? "" : "s"}
          </div>
        </div>
        {CATEGORIES.map((c) => (
          <div className="stat" key={c.id}>
            <div className="stat-label">{c.label}</div>
            <div className="stat-value">{formatCount(preview.counts[c.id].count)}</div>
            <div className="stat-sub">{formatBytes(preview.counts[c.id].bytes)}</div>
          </div>
        ))}
      </div>
      {preview.errors.length > 0 ? (
        <p className="form-error" role="alert">
          {preview.errors.length} item{preview.errors.length === 1 ? "" : "s"} could not be checked: {preview.errors[0]?.message}
        </p>
      ) : null}
      {preview.sample.length === 0 ? (
        <EmptyState title="Nothing to clean">
          <p>No file matches these categories and ages right now.</p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Sample of what would be deleted</caption>
            <thead>
              <tr>
                <th scope="col">Category</th>
                <th scope="col">Object</th>
                <th scope="col" className="numeric">
                  Size
                </th>
              </tr>
            </thead>
            <tbody>
              {preview.sample.map((item) => (
                <tr key={`${item.category}:${item.key}`}>
                  <td>{labelOf(item.category)}</td>
                  <td className="mono wrap">{item.key}</td>
                  <td className="numeric">{formatBytes(item.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function HistoryTable({ runs }: { runs: Run[] }) {
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">Cleanup history</caption>
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Kind</th>
            <th scope="col">Trigger</th>
            <th scope="col" className="numeric">
              Items
            </th>
            <th scope="col" className="numeric">
              Freed
            </th>
            <th scope="col" className="numeric">
              Errors
            </th>
            <th scope="col" className="numeric">
              Took
            </th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-run-id={r.id} data-dry-run={r.dryRun}>
              <td>
                <time dateTime={isoDate(r.startedAt)} title={formatDate(r.startedAt)}>
                  {formatWhen(r.startedAt)}
                </time>
              </td>
              <td>
                <span className={`status ${r.dryRun ? "status-neutral" : "status-info"}`}>{r.dryRun ? "Dry run" : "Real run"}</span>
              </td>
              <td>{r.trigger}</td>
              <td className="numeric">{formatCount(itemsOf(r))}</td>
              <td className="numeric">{r.dryRun ? "—" : formatBytes(r.bytesFreed)}</td>
              <td className={`numeric ${errorsOf(r) ? "count-failed" : ""}`}>{formatCount(errorsOf(r))}</td>
              <td className="numeric">
                {r.finishedAt ? formatDuration(new Date(r.finishedAt).getTime() - new Date(r.startedAt).getTime()) : "running…"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
