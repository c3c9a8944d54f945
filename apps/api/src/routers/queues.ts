import { AppError } from "@airlock/shared/errors";
import type { Queues } from "@airlock/shared/queue-client";
import { type QueueName, queueNames } from "@airlock/shared/queues";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { adminProcedure } from "../trpc.ts";

/** The states an operator watches, in pipeline order. */
export const JOB_STATES = ["waiting", "prioritized", "delayed", "active", "failed", "completed"] as const;
export type JobState = (typeof JOB_STATES)[number];

const ZQueueName = z.enum(queueNames as [QueueName, ...QueueName[]]);
const ZJobRef = z.object({ queue: ZQueueName, jobId: z.string().min(1).max(200) }).strict();

/** One queue, typed loosely: every queue offers the same operations whatever its payload. */
type AnyQueue = Queues[QueueName];
const queueOf = (queues: Queues, name: QueueName): AnyQueue => queues[name];

/** The last line that says what went wrong, without the whole stack (it can be long and repetitive). */
function shortStack(stacktrace: string[] | null | undefined): string | null {
  const last = stacktrace?.at(-1);
  return last ? last.split("\n").slice(0, 6).join("\n") : null;
}

async function findJob(queues: Queues, name: QueueName, jobId: string) {
  const job = await queueOf(queues, name).getJob(jobId);
  if (!job) throw new AppError("NOT_FOUND", `no job ${jobId} in ${name} (it may have been removed or retried already)`);
  return job;
}

/**
 * BullMQ queues for administrators (DESIGN §6): counts per queue and state, failed jobs with their
 * reasons, retry and remove. Reads and acts through the API's own producers (`ctx.queues`).
 */
export const queuesRouter = {
  list: adminProcedure.query(async ({ ctx }) =>
    Promise.all(
      queueNames.map(async (name) => {
        const queue = queueOf(ctx.queues, name);
        const [counts, paused] = await Promise.all([queue.getJobCounts(...JOB_STATES), queue.isPaused()]);
        return {
          name,
          paused,
          counts: Object.fromEntries(JOB_STATES.map((state) => [state, counts[state] ?? 0])) as Record<JobState, number>,
        };
      }),
    ),
  ),

  /** Failed jobs of one queue, newest first. */
  failed: adminProcedure
    .input(
      z
        .object({ queue: ZQueueName, offset: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(100).default(20) })
        .strict(),
    )
    .query(async ({ ctx, input }) => {
      const queue = queueOf(ctx.queues, input.queue);
      const [jobs, total] = await Promise.all([queue.getFailed(input.offset, input.offset + input.limit - 1), queue.getFailedCount()]);
      return {
        total,
        jobs: jobs
          .filter((job) => job != null)
          .map((job) => ({
            id: job.id ?? "",
            name: job.name,
            data: job.data as Record<string, unknown>,
            failedReason: job.failedReason || "no reason recorded",
            stack: shortStack(job.stacktrace),
            attemptsMade: job.attemptsMade,
            attempts: job.opts.attempts ?? 1,
            createdAt: new Date(job.timestamp),
            failedAt: job.finishedOn ? new Date(job.finishedOn) : null,
          })),
      };
    }),

  /** Puts a failed job back in the queue (its attempts start again). */
  retry: adminProcedure.input(ZJobRef).mutation(async ({ ctx, input }) => {
    const job = await findJob(ctx.queues, input.queue, input.jobId);
    const state = await job.getState();
    if (state !== "failed") throw new AppError("INVALID_STATE", `only failed jobs can be retried; this one is ${state}`);
    await job.retry("failed");
    ctx.log.info({ queue: input.queue, jobId: input.jobId, by: ctx.user.id }, "job retried by an administrator");
    return { queue: input.queue, jobId: input.jobId, state: "waiting" as const };
  }),

  /** Deletes a job that is not running. A removed scan job is re-queued by the reconciler if its asset still waits. */
  remove: adminProcedure.input(ZJobRef).mutation(async ({ ctx, input }) => {
    const job = await findJob(ctx.queues, input.queue, input.jobId);
    const state = await job.getState();
    if (state === "active") throw new AppError("INVALID_STATE", "this job is running now; wait until it finishes or fails");
    await job.remove();
    ctx.log.info({ queue: input.queue, jobId: input.jobId, state, by: ctx.user.id }, "job removed by an administrator");
    return { queue: input.queue, jobId: input.jobId, removed: true as const };
  }),
} satisfies TRPCRouterRecord;
