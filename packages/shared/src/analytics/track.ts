import type { PrismaClient } from "@airlock/db";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { type AggregatedEvent, deltasOf, queueIncrements } from "./day-delta.ts";
import { assetHistories, insertUploadEvents, toRow, type UploadEventInput } from "./events.ts";
import { NEEDS_PRIOR } from "./storage-flow.ts";

/**
 * What `track` writes to. `ctx` of the API and of the worker fit as they are. Without `redis` (some
 * tests, scripts) only the durable row is written and `rebuild` fills in the aggregates.
 */
export interface TrackDeps {
  db: PrismaClient;
  redis?: Redis | undefined;
  env?: { REDIS_PREFIX: string } | undefined;
  log?: Pick<Logger, "warn"> | undefined;
}

/** How long `track` waits for Redis before giving up (the row is already durable). */
export const TRACK_REDIS_TIMEOUT_MS = 2_000;

/**
 * DESIGN §8: records an upload event — the durable `UploadEvent` row, then, only if this call inserted
 * it, the day's aggregates in one Redis MULTI. A replayed event (same asset and type) changes nothing,
 * so at-least-once producers never double-count. Redis being down or slow never fails the caller: the
 * MULTI is not retried (a lost reply could otherwise count twice); the aggregates then lag the rows
 * until `rebuild` recomputes them. Returns whether the event was new.
 */
export async function track(deps: TrackDeps, event: UploadEventInput): Promise<boolean> {
  return (await trackMany(deps, [event])) === 1;
}

/** {@link track} for a batch (cleanup): one INSERT, one MULTI. Returns how many events were new. */
export async function trackMany(deps: TrackDeps, events: readonly UploadEventInput[]): Promise<number> {
  const now = new Date();
  const recorded = await insertUploadEvents(
    deps.db,
    events.map((e) => toRow(e, now)),
  );
  if (recorded.length === 0 || !deps.redis || !deps.env) return recorded.length;
  const { redis, env } = deps;
  try {
    const needPrior = recorded.filter((r) => NEEDS_PRIOR.includes(r.type)).map((r) => r.assetId);
    const histories = await assetHistories(deps.db, needPrior);
    const aggregated: AggregatedEvent[] = recorded.map((r) => {
      const history = histories.get(r.assetId);
      return {
        ...r,
        size: r.size === null ? null : Number(r.size),
        prior: history?.prior ?? { confirmed: false, scanned: false, quarantined: false, failed: false },
        confirmedSize: history?.confirmedSize ?? null,
      };
    });
    // Not queued while disconnected: a command flushed much later could land after a `rebuild` that
    // already counted its row.
    if (redis.status !== "ready") throw new Error(`redis is ${redis.status}`);
    const multi = redis.multi();
    for (const delta of deltasOf(aggregated)) queueIncrements(multi, env.REDIS_PREFIX, delta);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from redis in ${TRACK_REDIS_TIMEOUT_MS} ms`)), TRACK_REDIS_TIMEOUT_MS);
    });
    try {
      const results = await Promise.race([multi.exec(), timeout]);
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw failed?.[0] ?? new Error("the MULTI was discarded");
    } finally {
      clearTimeout(timer);
    }
  } catch (error) {
    deps.log?.warn(
      { err: (error as Error).message, events: recorded.map((r) => ({ type: r.type, assetId: r.assetId })) },
      "analytics aggregates not updated; the events are recorded, run the analytics rebuild for their days",
    );
  }
  return recorded.length;
}
