import type { JobOf } from "@airlock/shared/queues";
import type { WebhookEvent } from "@airlock/shared/webhooks";
import type { WorkerContext } from "../context.ts";

/**
 * Announces a pipeline outcome: queues one `notifications` job, which fans out to in-app rows, email
 * and webhooks (processors/notify.ts). `key` identifies the occurrence (the asset, run or alert id),
 * so a repeated announcement of the same outcome is queued once. Never throws: the state is already
 * in PostgreSQL; a lost announcement is logged, not a failed scan. Returns whether it was queued, for
 * callers that keep a pending mark until it was (services/follow-ups.ts, services/pending-announcements.ts).
 */
export async function announce(
  ctx: Pick<WorkerContext, "queues" | "log">,
  event: WebhookEvent,
  key: string,
  data: Omit<JobOf<"notifications">, "event">,
): Promise<boolean> {
  return ctx.queues.notifications.add(event, { event, ...data }, { jobId: `${event}-${key}`.replaceAll(":", "_") }).then(
    () => true,
    (error: unknown) => {
      ctx.log.warn({ event, key, err: (error as Error).message }, "could not queue notifications");
      return false;
    },
  );
}
