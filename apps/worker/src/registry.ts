import type { ParsedJobOf, QueueName } from "@airlock/shared/queues";
import type { Job } from "bullmq";
import type { WorkerContext } from "./context.ts";
import { alertsRegistration } from "./processors/alerts.ts";
import { cleanupRegistration } from "./processors/cleanup.ts";
import { notifyRegistration } from "./processors/notify.ts";
import { reconcileRegistration } from "./processors/reconcile.ts";
import { scanRegistration } from "./processors/scan.ts";
import { thumbnailRegistration } from "./processors/thumbnail.ts";
import { webhookRegistration } from "./processors/webhook.ts";

/** What a handler reports; follow-up jobs are queued by the handler itself, in one place per queue. */
export type JobOutcome = "success" | "skipped" | "rescheduled";

/** `token` is the job lock's token, needed to move the job (e.g. to delayed, to poll an engine later). */
export type Processor<Q extends QueueName> = (
  job: Job<ParsedJobOf<Q>>,
  ctx: WorkerContext,
  token: string | undefined,
) => Promise<JobOutcome>;

export interface Registration<Q extends QueueName> {
  process: Processor<Q>;
  /** Jobs of this queue run at once in this process. */
  concurrency: (ctx: WorkerContext) => number;
}

/** A queue whose processor has not landed yet: no Worker is started for it, and start-up says so. */
export interface Planned {
  planned: string;
}

/**
 * Every queue must appear here — a queue without an entry fails type-checking, not production.
 */
export type Registry = { [Q in QueueName]: Registration<Q> | Planned };

export const registry = {
  "asset-virus-scan": scanRegistration,
  "upload-cleanup": cleanupRegistration,
  "asset-thumbnail": thumbnailRegistration,
  notifications: notifyRegistration,
  "webhook-delivery": webhookRegistration,
  "alerts-evaluate": alertsRegistration,
  "upload-reconcile": reconcileRegistration,
} satisfies Registry;
