import { Prisma, type UploadEventType } from "@airlock/db";
import { AppError } from "../errors.ts";
import { invalidateCache } from "./cache.ts";
import { type DayDelta, EXAMPLES_PER_REASON, emptyDelta, exampleLine, increment, MAX_REASON_CHARS, queueReplacement } from "./day-delta.ts";
import { addDays, type Day, dayFromEpoch, dayOf, daysIn, epochDay, isDay, startOf } from "./days.ts";
import type { AnalyticsDeps } from "./deps.ts";
import { BUCKET_FIELDS, SCAN_BUCKETS_MS } from "./histogram.ts";
import { BLOCK_LEVELS, BLOCK_SETS, blockKey, DAY_HASHES, dayKey, daysIndexKey } from "./keys.ts";
import type { DayRange } from "./range.ts";
import { unavailable } from "./read-days.ts";
import { type PriorEvents, type StorageMove, storageMove } from "./storage-flow.ts";
import { TRACK_REDIS_TIMEOUT_MS } from "./track.ts";

export interface RebuildResult extends DayRange {
  days: number;
  /** Events read from PostgreSQL. */
  events: number;
  ms: number;
}

export interface RebuildOptions {
  /** Days per snapshot and MULTI (default 16): bounds memory and the size of each swap. */
  chunkDays?: number;
  onChunk?: (chunk: DayRange & { events: number; ms: number }) => void;
}

const NO_PRIOR: PriorEvents = { confirmed: false, scanned: false, quarantined: false, failed: false };
const DAY = Prisma.raw(`to_char(e."at" AT TIME ZONE 'UTC', 'YYYY-MM-DD')`);
const REASON = Prisma.raw(`CASE WHEN coalesce(e."reason", '') = '' THEN 'unknown' ELSE left(e."reason", ${MAX_REASON_CHARS}) END`);

/**
 * DESIGN §8: recomputes the Redis aggregates of [from, to] (default: every day with events) from the
 * `UploadEvent` rows, with the same writer `track` uses. Each chunk of days is read in one snapshot
 * (REPEATABLE READ) and swapped in by one MULTI (delete the days' keys, write the new values, recompute
 * the larger user blocks from their halves), so readers never see a half-written day.
 *
 * Concurrent `track` calls: the swap waits until any `track` whose row is in the snapshot has written or
 * given up (TRACK_REDIS_TIMEOUT_MS), so nothing is counted twice; an event recorded between the snapshot
 * and the swap of its day is left out until the next rebuild (an undercount of seconds, never a
 * double count). Cached answers are invalidated at the end.
 */
export async function rebuild(deps: AnalyticsDeps, range: Partial<DayRange> = {}, options: RebuildOptions = {}): Promise<RebuildResult> {
  const started = performance.now();
  const bounds = await resolveBounds(deps, range);
  if (!bounds) return { from: range.from ?? "", to: range.to ?? "", days: 0, events: 0, ms: 0 };
  const chunkDays = options.chunkDays ?? 16;
  let events = 0;
  // A chunk is swapped in after the next one has been read: its settling time overlaps that reading.
  let pending: (Awaited<ReturnType<typeof readChunk>> & DayRange & { started: number }) | undefined;
  const settleAndSwap = async (chunk: NonNullable<typeof pending>) => {
    const settle = TRACK_REDIS_TIMEOUT_MS - (performance.now() - chunk.snapshotAt);
    if (settle > 0) await new Promise((resolve) => setTimeout(resolve, settle));
    await swapChunk(deps, chunk.from, chunk.to, chunk.deltas);
    events += chunk.count;
    options.onChunk?.({ from: chunk.from, to: chunk.to, events: chunk.count, ms: performance.now() - chunk.started });
  };
  for (let from = bounds.from; from <= bounds.to; from = addDays(from, chunkDays)) {
    const started = performance.now();
    const to = dayFromEpoch(Math.min(epochDay(from) + chunkDays - 1, epochDay(bounds.to)));
    const chunk = { from, to, started, ...(await readChunk(deps, from, to)) };
    if (pending) await settleAndSwap(pending);
    pending = chunk;
  }
  if (pending) await settleAndSwap(pending);
  await invalidateCache(deps).catch((error: unknown) => {
    throw unavailable(error);
  });
  const result = { ...bounds, days: daysIn(bounds.from, bounds.to).length, events, ms: Math.round(performance.now() - started) };
  deps.log?.info(result, "analytics rebuilt");
  return result;
}

async function resolveBounds(deps: AnalyticsDeps, range: Partial<DayRange>): Promise<DayRange | null> {
  for (const [name, value] of Object.entries(range)) {
    if (value !== undefined && !isDay(value))
      throw new AppError("BAD_REQUEST", `${name} must be a date written YYYY-MM-DD (UTC), got "${value}"`);
  }
  let { from, to } = range;
  if (!from || !to) {
    const [edges] = await deps.db.$queryRaw<Array<{ first: Date | null; last: Date | null }>>`
      SELECT min("at") AS first, max("at") AS last FROM "UploadEvent"`;
    if (!edges?.first || !edges.last) return from && to ? { from, to } : null;
    from ??= dayOf(edges.first);
    to ??= dayOf(edges.last);
  }
  if (from > to) throw new AppError("BAD_REQUEST", `from (${from}) is after to (${to})`);
  return { from, to };
}

interface ChunkRows {
  events: Array<{ day: Day; type: UploadEventType; n: number; bytes: number }>;
  mime: Array<{ day: Day; type: UploadEventType; mime: string; n: number; bytes: number }>;
  reasons: Array<{ day: Day; type: UploadEventType; reason: string; n: number }>;
  examples: Array<{ day: Day; type: UploadEventType; reason: string; assetId: string; userId: string; mime: string | null; at: Date }>;
  scans: Array<{ day: Day; bucket: number; n: number; total: number }>;
  users: Array<{ day: Day; userId: string; n: number; bytes: number }>;
  storage: Array<{ day: Day; type: UploadEventType; c: boolean; s: boolean; q: boolean; f: boolean; n: number; bytes: number }>;
}

/** The chunk's aggregates, by the same GROUP BYs a SQL report would use, in one snapshot. */
async function readChunk(deps: AnalyticsDeps, from: Day, to: Day) {
  const start = startOf(from);
  const end = startOf(addDays(to, 1));
  const inRange = Prisma.sql`e."at" >= ${start} AND e."at" < ${end}`;
  // width_bucket counts the thresholds ≤ d; with bound + 1 that is the number of bounds < d (integer
  // ms), i.e. the index of the first bucket whose bound is ≥ d, as `bucketField` computes.
  const thresholds = SCAN_BUCKETS_MS.map((b) => b + 1);
  let snapshotAt = 0;
  const rows: ChunkRows = await deps.db.$transaction(
    async (tx) => {
      snapshotAt = performance.now();
      const events = await tx.$queryRaw<ChunkRows["events"]>`
        SELECT ${DAY} AS day, e."type"::text AS type, count(*)::int AS n, coalesce(sum(e."size"), 0)::float8 AS bytes
        FROM "UploadEvent" e WHERE ${inRange} GROUP BY 1, 2`;
      const mime = await tx.$queryRaw<ChunkRows["mime"]>`
        SELECT ${DAY} AS day, e."type"::text AS type, coalesce(e."mime", 'unknown') AS mime, count(*)::int AS n,
               coalesce(sum(e."size") FILTER (WHERE e."type" = 'CONFIRMED'), 0)::float8 AS bytes
        FROM "UploadEvent" e WHERE ${inRange} GROUP BY 1, 2, 3`;
      const reasons = await tx.$queryRaw<ChunkRows["reasons"]>`
        SELECT ${DAY} AS day, e."type"::text AS type, ${REASON} AS reason, count(*)::int AS n
        FROM "UploadEvent" e WHERE ${inRange} AND e."type" IN ('FAILED', 'QUARANTINED') GROUP BY 1, 2, 3`;
      const examples = await tx.$queryRaw<ChunkRows["examples"]>`
        SELECT day, type, reason, "assetId", "userId", mime, at FROM (
          SELECT ${DAY} AS day, e."type"::text AS type, ${REASON} AS reason, e."assetId"::text AS "assetId",
                 e."userId"::text AS "userId", e."mime" AS mime, e."at" AS at,
                 row_number() OVER (PARTITION BY ${DAY}, e."type", ${REASON} ORDER BY e."at" DESC, e."id" DESC) AS rn
          FROM "UploadEvent" e WHERE ${inRange} AND e."type" IN ('FAILED', 'QUARANTINED')
        ) x WHERE rn <= ${EXAMPLES_PER_REASON} ORDER BY day, type, reason, rn`;
      const scans = await tx.$queryRaw<ChunkRows["scans"]>`
        SELECT ${DAY} AS day, width_bucket(e."durationMs", ${thresholds}::int[]) AS bucket, count(*)::int AS n,
               sum(e."durationMs")::float8 AS total
        FROM "UploadEvent" e WHERE ${inRange} AND e."type" = 'SCANNED' AND e."durationMs" IS NOT NULL GROUP BY 1, 2`;
      const users = await tx.$queryRaw<ChunkRows["users"]>`
        SELECT ${DAY} AS day, e."userId"::text AS "userId", count(*)::int AS n, coalesce(sum(e."size"), 0)::float8 AS bytes
        FROM "UploadEvent" e WHERE ${inRange} AND e."type" = 'CONFIRMED' GROUP BY 1, 2`;
      // FAILED and DELETED move bytes depending on the asset's other events (storage-flow.ts).
      const storage = await tx.$queryRaw<ChunkRows["storage"]>`
        SELECT ${DAY} AS day, e."type"::text AS type, h.c, h.s, h.q, h.f, count(*)::int AS n, coalesce(sum(h.size), 0)::float8 AS bytes
        FROM "UploadEvent" e
        CROSS JOIN LATERAL (
          SELECT bool_or(o."type" = 'CONFIRMED') AS c, bool_or(o."type" = 'SCANNED') AS s,
                 bool_or(o."type" = 'QUARANTINED') AS q, bool_or(o."type" = 'FAILED') AS f,
                 max(o."size") FILTER (WHERE o."type" = 'CONFIRMED') AS size
          FROM "UploadEvent" o WHERE o."assetId" = e."assetId"
        ) h
        WHERE ${inRange} AND e."type" IN ('FAILED', 'DELETED') GROUP BY 1, 2, 3, 4, 5, 6`;
      return { events, mime, reasons, examples, scans, users, storage };
    },
    { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead, timeout: 600_000, maxWait: 30_000 },
  );

  const deltas = new Map(daysIn(from, to).map((day) => [day, emptyDelta(day)]));
  const of = (day: Day) => deltas.get(day) as DayDelta;
  const move = (delta: DayDelta, m: StorageMove, n: number, bytes: number) => {
    if (m.from) {
      increment(delta.hashes.storage, `${m.from}:bytes`, -bytes);
      increment(delta.hashes.storage, `${m.from}:assets`, -n);
    }
    if (m.to) {
      increment(delta.hashes.storage, `${m.to}:bytes`, bytes);
      increment(delta.hashes.storage, `${m.to}:assets`, n);
    }
  };
  let count = 0;
  for (const r of rows.events) {
    const delta = of(r.day);
    count += r.n;
    increment(delta.hashes.events, r.type, r.n);
    increment(delta.hashes.events, `${r.type}:bytes`, r.bytes);
    if (r.type !== "FAILED" && r.type !== "DELETED") move(delta, storageMove(r.type, NO_PRIOR), r.n, r.bytes);
  }
  for (const r of rows.mime) {
    increment(of(r.day).hashes.mime, `${r.type}|${r.mime}`, r.n);
    if (r.type === "CONFIRMED") increment(of(r.day).hashes.mime, `bytes|${r.mime}`, r.bytes);
  }
  for (const r of rows.reasons) increment(of(r.day).hashes.reasons, `${r.type}|${r.reason}`, r.n);
  for (const r of rows.examples) {
    const field = `${r.type}|${r.reason}`;
    const examples = of(r.day).examples;
    examples.set(field, [...(examples.get(field) ?? []), exampleLine(r)]);
  }
  for (const r of rows.scans) {
    const scan = of(r.day).hashes.scan;
    increment(scan, BUCKET_FIELDS[r.bucket] as string, r.n);
    increment(scan, "count", r.n);
    increment(scan, "sum", r.total);
  }
  for (const r of rows.users) of(r.day).users.set(r.userId, { count: r.n, bytes: r.bytes });
  for (const r of rows.storage)
    move(of(r.day), storageMove(r.type, { confirmed: r.c, scanned: r.s, quarantined: r.q, failed: r.f }), r.n, r.bytes);
  return { deltas: [...deltas.values()], count, snapshotAt };
}

/** One MULTI: empty the days, write them, recompute every larger user block that contains one of them. */
async function swapChunk(deps: AnalyticsDeps, from: Day, to: Day, deltas: DayDelta[]): Promise<void> {
  const prefix = deps.env.REDIS_PREFIX;
  const multi = deps.redis.multi();
  for (const day of daysIn(from, to)) {
    multi.del(...DAY_HASHES.map((h) => dayKey(prefix, day, h)));
    const block = { span: 1, start: epochDay(day) };
    multi.del(...BLOCK_SETS.map((set) => blockKey(prefix, set, block)));
    multi.zrem(daysIndexKey(prefix), day);
  }
  for (const delta of deltas) queueReplacement(multi, prefix, delta);
  for (let level = 1; level < BLOCK_LEVELS; level++) {
    const span = 2 ** level;
    const half = span / 2;
    for (let i = Math.floor(epochDay(from) / span); i <= Math.floor(epochDay(to) / span); i++) {
      for (const set of BLOCK_SETS) {
        const start = i * span;
        multi.zunionstore(
          blockKey(prefix, set, { span, start }),
          2,
          blockKey(prefix, set, { span: half, start }),
          blockKey(prefix, set, { span: half, start: start + half }),
        );
      }
    }
  }
  let results: Array<[Error | null, unknown]> | null;
  try {
    results = await multi.exec();
  } catch (error) {
    throw unavailable(error);
  }
  const failed = results?.find(([error]) => error);
  if (!results || failed) throw unavailable(failed?.[0] ?? new Error("the MULTI was discarded"));
}
