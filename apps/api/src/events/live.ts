import type { AirlockEvent, PublishedEvent } from "@airlock/shared/events";
import { tracked } from "@trpc/server";
import { compareEventIds, type EventHub, isEventId } from "./hub.ts";

/**
 * Sent instead of the missed events when they cannot be replayed one by one (the client was away
 * longer than the stream keeps, or it fell too far behind): reload whatever the screen shows.
 */
export type ResyncEvent = { type: "resync"; reason: "gap" | "overflow"; at: string };
export type LiveEvent = AirlockEvent | ResyncEvent;

/** Events buffered for one slow subscriber before it is told to resync instead. */
const MAX_BUFFERED = 1000;
/** How often a long-lived subscription re-checks that its key still may see what it sees. */
export const RECHECK_MS = 60_000;

export interface LiveOptions {
  hub: EventHub;
  /** Only these events reach this subscriber. */
  accept: (event: AirlockEvent) => boolean;
  /** The last event id the client saw (tRPC's `tracked()` sends it back on reconnect). */
  lastEventId?: string | null;
  signal: AbortSignal | undefined;
  /** Throws (e.g. UNAUTHORIZED) when the subscriber's key was revoked or lost its rights. */
  recheck?: () => Promise<void>;
  recheckMs?: number;
}

/**
 * One subscriber's stream: the missed events first (from the Redis stream, when `lastEventId` is
 * given), then live ones from the hub, each tracked by its stream id so the client can resume. The
 * listener is registered before the replay is read, and live events at or below the last replayed id
 * are skipped, so nothing falls between replay and live and nothing is sent twice.
 */
export async function* liveEvents(options: LiveOptions) {
  const { hub, accept, signal } = options;
  const queue: PublishedEvent[] = [];
  let overflow = false;
  let wake: (() => void) | null = null;
  const stop = hub.listen((event) => {
    if (!accept(event)) return;
    if (queue.length >= MAX_BUFFERED) overflow = true;
    else queue.push(event);
    wake?.();
  });
  const resync = (reason: ResyncEvent["reason"], id: string) =>
    tracked<LiveEvent>(id, { type: "resync", reason, at: new Date().toISOString() });
  try {
    await hub.start();
    let after: string | null = null;
    const lastEventId = options.lastEventId;
    if (lastEventId && isEventId(lastEventId)) {
      const replay = await hub.replay(lastEventId);
      if (replay.gap) {
        after = replay.latestId ?? lastEventId;
        yield resync("gap", after);
      } else {
        after = lastEventId;
        for (const event of replay.events) {
          after = event.eventId;
          if (accept(event)) yield tracked<LiveEvent>(event.eventId, withoutId(event));
        }
      }
    }
    let nextCheck = Date.now() + (options.recheckMs ?? RECHECK_MS);
    while (!signal?.aborted) {
      if (overflow) {
        overflow = false;
        const last = queue.at(-1)?.eventId ?? after ?? "0-0";
        queue.length = 0;
        after = last;
        yield resync("overflow", last);
      }
      for (let event = queue.shift(); event; event = queue.shift()) {
        if (after && compareEventIds(event.eventId, after) <= 0) continue;
        after = event.eventId;
        yield tracked<LiveEvent>(event.eventId, withoutId(event));
      }
      if (options.recheck && Date.now() >= nextCheck) {
        await options.recheck();
        nextCheck = Date.now() + (options.recheckMs ?? RECHECK_MS);
      }
      await new Promise<void>((resolve) => {
        // Events may have arrived while this loop was busy (e.g. during the recheck).
        if (queue.length > 0 || overflow || signal?.aborted) return resolve();
        const timer = setTimeout(resolve, Math.max(0, nextCheck - Date.now()));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
        signal?.addEventListener("abort", wake, { once: true });
      });
      if (wake) signal?.removeEventListener("abort", wake);
      wake = null;
    }
  } finally {
    stop();
  }
}

function withoutId(event: PublishedEvent): AirlockEvent {
  const { eventId: _eventId, ...rest } = event;
  return rest as AirlockEvent;
}
