import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { defaultJobOptions, type JobOf, type QueueName, queueNames } from "./queues.ts";
import { bullPrefix } from "./redis.ts";

/** Typed producers for every queue, sharing one connection. */
export type Queues = { [Q in QueueName]: Queue<JobOf<Q>> };

export function createQueues(connection: Redis, prefix: string): Queues {
  const entries = queueNames.map((name) => [name, new Queue(name, { connection, prefix: bullPrefix(prefix), defaultJobOptions })]);
  return Object.fromEntries(entries) as Queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
