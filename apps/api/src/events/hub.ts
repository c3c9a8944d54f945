import { type AirlockEvent, eventsChannel, eventsStreamKey, type PublishedEvent } from "@airlock/shared/events";
import type { Logger } from "@airlock/shared/logger";
import { createRedis } from "@airlock/shared/redis";
import type { Redis } from "ioredis";

/** Stream entry ids as Redis makes them: `<milliseconds>-<sequence>`. */
const EVENT_ID = /^\d{1,20}-\d{1,20}$/;

export function isEventId(value: string): boolean {
  return EVENT_ID.test(value);
}

/** Orders two stream ids (`<ms>-<seq>`) numerically; both must match `isEventId`. */
export function compareEventIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split("-").map(BigInt);
  const [bm = 0n, bs = 0n] = b.split("-").map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

export type EventListener = (event: PublishedEvent) => void;

/** What a replay found: the events after the given id, or `gap` when some of them were trimmed away. */
export type Replay = { gap: false; events: PublishedEvent[] } | { gap: true; latestId: string | null };

/**
 * The live-event relay of one API process (DESIGN §10): ONE Redis connection in subscriber mode on
 * the events channel, fanned out in memory to every WebSocket subscription of this process. Any
 * worker or replica publishes; every replica's hub hears it, so a browser sees events wherever its
 * socket landed. Replay (after a reconnect) reads the bounded stream through the process's ordinary
 * Redis connection, since a subscriber connection cannot run other commands.
 */
export class EventHub {
  readonly #listeners = new Set<EventListener>();
  readonly #subscriber: Redis;
  readonly #reader: Redis;
  readonly #prefix: string;
  readonly #log: Logger;
  #started: Promise<void> | null = null;

  constructor(options: { redisUrl: string; prefix: string; reader: Redis; log: Logger }) {
    this.#prefix = options.prefix;
    this.#reader = options.reader;
    this.#log = options.log;
    // No retry limit: the SUBSCRIBE waits in ioredis's offline queue while Redis is down, and ioredis
    // re-subscribes by itself after every reconnect (autoResubscribe).
    this.#subscriber = createRedis(options.redisUrl, { maxRetriesPerRequest: null });
    this.#subscriber.on("error", (err) => this.#log.warn({ err: err.message }, "live events: redis subscriber error"));
    this.#subscriber.on("message", (_channel: string, message: string) => this.#dispatch(message));
  }

  /** Subscribes to the channel (once); resolves when Redis confirmed the subscription. */
  start(): Promise<void> {
    this.#started ??= this.#subscriber.subscribe(eventsChannel(this.#prefix)).then(() => undefined);
    return this.#started;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Registers a listener for every event; returns the function that removes it. */
  listen(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The events published after `afterId`, oldest first, at most `limit`. When `afterId` is no longer
   * in the stream (trimmed by MAXLEN, or never there) or more than `limit` followed it, the caller
   * cannot be brought up to date event by event: it gets `gap` and the newest id to continue from.
   */
  async replay(afterId: string, limit = 1000): Promise<Replay> {
    const key = eventsStreamKey(this.#prefix);
    const [anchor, entries] = await Promise.all([
      this.#reader.xrange(key, afterId, afterId),
      this.#reader.xrange(key, `(${afterId}`, "+", "COUNT", limit + 1),
    ]);
    if (anchor.length === 0 || entries.length > limit) {
      const latest = await this.#reader.xrevrange(key, "+", "-", "COUNT", 1);
      return { gap: true, latestId: latest[0]?.[0] ?? null };
    }
    const events: PublishedEvent[] = [];
    for (const [id, fields] of entries) {
      const json = fields[fields.indexOf("event") + 1];
      const event = json ? parseEvent(json) : null;
      if (event) events.push({ ...event, eventId: id });
    }
    return { gap: false, events };
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    // QUIT would wait in the offline queue forever while Redis is unreachable: only ask a live connection.
    if (this.#subscriber.status === "ready") await this.#subscriber.quit().catch(() => {});
    this.#subscriber.disconnect();
  }

  #dispatch(message: string): void {
    const event = parseEvent(message);
    if (!event || typeof event.eventId !== "string" || !isEventId(event.eventId)) {
      this.#log.warn("live events: ignored a malformed message on the events channel");
      return;
    }
    for (const listener of this.#listeners) {
      try {
        listener(event as PublishedEvent);
      } catch (err) {
        this.#log.error({ err }, "live events: a listener failed");
      }
    }
  }
}

/** JSON of an event (from the channel or the stream); null when it is not an object with a type. */
function parseEvent(json: string): (AirlockEvent & { eventId?: unknown }) | null {
  try {
    const value: unknown = JSON.parse(json);
    if (value && typeof value === "object" && typeof (value as { type?: unknown }).type === "string") {
      return value as AirlockEvent & { eventId?: unknown };
    }
  } catch {
    // fall through
  }
  return null;
}
