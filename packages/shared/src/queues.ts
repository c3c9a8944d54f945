import { z } from "zod";

/** Every BullMQ queue of Airlock (DESIGN.md §6). */
export const QueueName = {
  scan: "asset-virus-scan",
  cleanup: "upload-cleanup",
  thumbnail: "asset-thumbnail",
  notifications: "notifications",
  webhookDelivery: "webhook-delivery",
  alerts: "alerts-evaluate",
  reconcile: "upload-reconcile",
} as const;

export type QueueName = (typeof QueueName)[keyof typeof QueueName];
export const queueNames = Object.values(QueueName) as QueueName[];

const ZAssetJob = z.object({ assetId: z.uuid() }).strict();

/** A scan job; `pending` is set by the worker itself while an asynchronous engine is still working. */
const ZScanJob = z
  .object({
    assetId: z.uuid(),
    pending: z
      .object({ ref: z.string().min(1).max(4096), since: z.number().int() })
      .strict()
      .optional(),
  })
  .strict();

/** The payload of each queue's jobs. Workers re-validate with these before running a handler. */
export const jobSchemas = {
  "asset-virus-scan": ZScanJob,
  "asset-thumbnail": ZAssetJob,
  "upload-cleanup": z
    .object({
      dryRun: z.boolean().default(false),
      trigger: z.enum(["schedule", "admin", "cli"]).default("schedule"),
      categories: z.array(z.enum(["abandoned", "failed", "quarantined", "orphans"])).optional(),
      olderThanHours: z.number().positive().optional(),
      requestedBy: z.uuid().optional(),
    })
    .strict(),
  notifications: z
    .object({
      event: z.string().min(1),
      assetId: z.uuid().optional(),
      userId: z.uuid().optional(),
      payload: z.record(z.string(), z.unknown()).default({}),
    })
    .strict(),
  "webhook-delivery": z.object({ deliveryId: z.uuid() }).strict(),
  "alerts-evaluate": z.object({ reason: z.string().optional() }).strict(),
  "upload-reconcile": z.object({}).strict(),
} satisfies Record<QueueName, z.ZodType>;

/** `JobOf<"asset-virus-scan">` is the payload type of that queue's jobs. */
export type JobOf<Q extends QueueName> = z.input<(typeof jobSchemas)[Q]>;
export type ParsedJobOf<Q extends QueueName> = z.output<(typeof jobSchemas)[Q]>;

/** Defaults every queue's jobs get unless the producer says otherwise. */
export const defaultJobOptions = {
  attempts: 3,
  backoff: { type: "exponential", delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;
