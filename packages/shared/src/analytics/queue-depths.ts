import type { Queues } from "../queue-client.ts";
import { type QueueName, queueNames } from "../queues.ts";
import { unavailable } from "./read-days.ts";

/** The BullMQ states an operator watches, in pipeline order. */
export const QUEUE_STATES = ["waiting", "prioritized", "delayed", "active", "failed", "completed"] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface QueueDepth {
  name: QueueName;
  paused: boolean;
  counts: Record<QueueState, number>;
  /** Jobs not finished: waiting + prioritized + delayed + active. */
  pending: number;
}

/** Live job counts of every queue (BullMQ `getJobCounts`); never cached. */
export async function queueDepths(queues: Queues): Promise<{ at: string; queues: QueueDepth[] }> {
  const depths = await Promise.all(
    queueNames.map(async (name): Promise<QueueDepth> => {
      const queue = queues[name] as Queues[QueueName];
      const [raw, paused] = await Promise.all([queue.getJobCounts(...QUEUE_STATES), queue.isPaused()]);
      const counts = Object.fromEntries(QUEUE_STATES.map((s) => [s, raw[s] ?? 0])) as Record<QueueState, number>;
      return { name, paused, counts, pending: counts.waiting + counts.prioritized + counts.delayed + counts.active };
    }),
  ).catch((error: unknown) => {
    throw unavailable(error);
  });
  return { at: new Date().toISOString(), queues: depths };
}
