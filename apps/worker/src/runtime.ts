import { jobSchemas, type QueueName } from "@airlock/shared/queues";
import { bullPrefix } from "@airlock/shared/redis";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { WorkerContext } from "./context.ts";
import type { Planned, Registration, Registry } from "./registry.ts";

export interface WorkerRuntime {
  workers: Worker[];
  /** Stops taking jobs and waits for the active ones to finish (BullMQ's graceful close). */
  close(): Promise<void>;
}

function isPlanned(entry: Registration<QueueName> | Planned): entry is Planned {
  return "planned" in entry;
}

/**
 * Starts one BullMQ Worker per registered queue. Each job's payload is validated again before its
 * handler runs; an invalid payload fails permanently (retrying cannot fix it).
 */
export function startWorkers(ctx: WorkerContext, registry: Partial<Registry>): WorkerRuntime {
  const workers: Worker[] = [];
  for (const [queue, entry] of Object.entries(registry) as Array<[QueueName, Registration<QueueName> | Planned]>) {
    if (isPlanned(entry)) {
      ctx.log.debug({ queue }, `no processor yet (lands with ${entry.planned})`);
      continue;
    }
    const log = ctx.log.child({ queue });
    const worker = new Worker(
      queue,
      async (job: Job, token?: string) => {
        const parsed = jobSchemas[queue].safeParse(job.data);
        if (!parsed.success) throw new UnrecoverableError(`invalid job payload: ${parsed.error.message}`);
        job.data = parsed.data;
        return entry.process(job as never, ctx, token);
      },
      {
        connection: ctx.redis,
        prefix: bullPrefix(ctx.env.REDIS_PREFIX),
        concurrency: entry.concurrency(ctx),
        lockDuration: ctx.env.WORKER_LOCK_DURATION_MS,
        stalledInterval: ctx.env.WORKER_STALLED_INTERVAL_MS,
        autorun: true,
      },
    );
    worker.on("failed", (job, err) => log.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, "job failed"));
    worker.on("error", (err) => log.error({ err: err.message }, "worker error"));
    workers.push(worker);
  }
  return {
    workers,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
