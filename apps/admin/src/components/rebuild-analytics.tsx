import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { describeError } from "../lib/errors.ts";
import { formatCount, formatDuration } from "../lib/format.ts";
import { useTRPC } from "../lib/trpc.ts";
import { ConfirmDialog } from "./dialog.tsx";

/**
 * "Rebuild from database": recomputes the dashboard's Redis aggregates of the shown days from the event
 * rows in PostgreSQL (`analytics.rebuild`), for when Redis lost data or was restored from an old snapshot.
 */
export function RebuildAnalytics({ from, to, label }: { from: string; to: string; label: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const rebuild = useMutation(
    trpc.analytics.rebuild.mutationOptions({
      onSuccess: () => {
        setConfirming(false);
        void queryClient.invalidateQueries({ queryKey: trpc.analytics.pathKey() });
      },
    }),
  );
  const done = rebuild.data;
  return (
    <>
      <button
        type="button"
        className="button button-small"
        onClick={() => {
          rebuild.reset(); // no earlier error or result in the dialog
          setConfirming(true);
        }}
      >
        Rebuild from database
      </button>
      {/* Always in the page, so screen readers announce the text when it appears. */}
      <p className="hint" role="status" data-testid="rebuild-result">
        {done && done.from === from && done.to === to
          ? `Rebuilt ${formatCount(done.days)} ${done.days === 1 ? "day" : "days"} from ${formatCount(done.events)} ${
              done.events === 1 ? "event" : "events"
            } in ${formatDuration(done.ms)}.`
          : null}
      </p>
      <ConfirmDialog
        open={confirming}
        title="Rebuild the figures from the database?"
        confirmLabel="Rebuild"
        busyLabel="Rebuilding…"
        tone="primary"
        busy={rebuild.isPending}
        error={rebuild.isError ? describeError(rebuild.error) : null}
        onConfirm={() => rebuild.mutate({ from, to })}
        onClose={() => setConfirming(false)}
      >
        <p>
          The dashboard counts uploads in Redis as they happen. This recomputes those counts for <strong>{label}</strong> from the upload
          events stored in PostgreSQL, replacing what Redis holds for those days. Use it after Redis lost data; uploads keep flowing
          meanwhile.
        </p>
      </ConfirmDialog>
    </>
  );
}
