import type { Redis } from "ioredis";
import { redisKey } from "./redis.ts";

/**
 * Live events (DESIGN §10): the worker and the API publish every asset transition on one Redis
 * channel (and append it to a short Redis stream for replay); each API replica relays them to subscribed
 * browsers. Fire-and-forget by design — the database is the source of truth, and a missed event only
 * delays a screen refresh.
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
    }
  /** An in-app notification row was written for `userId` (the bell refetches; the row holds the details). */
  | { type: "notification.created"; userId: string; notificationType: string; at: string };

export function eventsChannel(prefix: string): string {
  return redisKey(prefix, "events");
}

/**
 * The bounded replay log beside the channel: every published event is also appended here (capped at
 * about EVENTS_STREAM_MAXLEN entries), so a subscriber that reconnects with its last event id gets
 * what it missed. The stream entry id is the event id.
 */
export function eventsStreamKey(prefix: string): string {
  return redisKey(prefix, "events", "stream");
}

/** Approximate cap of the replay stream (`XADD MAXLEN ~`): minutes of history at normal rates. */
export const EVENTS_STREAM_MAXLEN = 1000;

/** What goes over the channel: the event plus its stream entry id (`<ms>-<seq>`). */
export type PublishedEvent = AirlockEvent & { eventId: string };

/**
 * XADD and PUBLISH in one script, so channel order equals stream order (two publishers cannot
 * interleave between the two calls) and a reconnecting subscriber's "after id X" is exact. The
 * channel message is the event's JSON with `eventId` spliced in first (the JSON is a non-empty object).
 */
const PUBLISH_SCRIPT = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[3])
redis.call('PUBLISH', ARGV[1], '{"eventId":"' .. id .. '",' .. string.sub(ARGV[3], 2))
return id`;

/** Returns the event id, or null when Redis was unreachable. */
export async function publishEvent(redis: Redis, prefix: string, event: AirlockEvent): Promise<string | null> {
  try {
    const id = await redis.eval(
      PUBLISH_SCRIPT,
      1,
      eventsStreamKey(prefix),
      eventsChannel(prefix),
      EVENTS_STREAM_MAXLEN,
      JSON.stringify(event),
    );
    return String(id);
  } catch {
    // Redis down: the state is in PostgreSQL already; screens catch up on their next fetch.
    return null;
  }
}
