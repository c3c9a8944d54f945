import type { Redis } from "ioredis";
import { redisKey } from "./redis.ts";

/**
 * Live events (DESIGN §10): the worker and the API publish every asset transition on one Redis
 * channel; each API replica relays them to subscribed browsers. Fire-and-forget by design — the
 * database is the source of truth, and a missed event only delays a screen refresh.
 */
export type AirlockEvent =
  | { type: "asset.status"; assetId: string; ownerId: string; status: string; at: string; threats?: string[]; failureCode?: string | null }
  | { type: "asset.thumbnail"; assetId: string; ownerId: string; at: string }
  | { type: "cleanup.completed"; runId: string; dryRun: boolean; bytesFreed: number; errors: number; at: string }
  | {
      type: "alert.fired" | "alert.resolved";
      alertId: string;
      rule: string;
      severity: string;
      value: number;
      threshold: number;
      summary: string;
      at: string;
    };

export function eventsChannel(prefix: string): string {
  return redisKey(prefix, "events");
}

export async function publishEvent(redis: Redis, prefix: string, event: AirlockEvent): Promise<void> {
  try {
    await redis.publish(eventsChannel(prefix), JSON.stringify(event));
  } catch {
    // Redis down: the state is in PostgreSQL already; screens catch up on their next fetch.
  }
}
