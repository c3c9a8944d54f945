import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { defaultJobOptions, type JobOf, type QueueName, queueNames } from "./queues.ts";
import { bullPrefix } from "./redis.ts";

/** Typed producers for every queue, sharing one connection. */
export type Queues = { [Q in QueueName]: Queue<JobOf<Q>> };

/** `onError` receives connection errors (otherwise BullMQ prints each reconnect attempt to the console). */
export function createQueues(connection: Redis, prefix: string, onError: (error: Error) => void = () => {}): Queues {
  const entries = queueNames.map((name) => {
    const queue = new Queue(name, { connection, prefix: bullPrefix(prefix), defaultJobOptions });
    queue.on("error", onError);
    return [name, queue];
  });
  return Object.fromEntries(entries) as Queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
