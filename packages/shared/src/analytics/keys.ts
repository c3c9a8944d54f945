import { redisKey } from "../redis.ts";
import { type Day, dayFromEpoch, epochDay } from "./days.ts";

/**
 * The Redis layout of the analytics aggregates, all under `${REDIS_PREFIX}:analytics:` (A below). Every
 * value is a sum of per-event increments, so any of them can be recomputed from the `UploadEvent` rows
 * (`rebuild`). Days are UTC.
 *
 *   A:day:{day}:events    hash  {TYPE} → events; {TYPE}:bytes → sum of their sizes
 *   A:day:{day}:mime      hash  {TYPE}|{mime} → events; bytes|{mime} → bytes confirmed
 *   A:day:{day}:reasons   hash  FAILED|{reason}, QUARANTINED|{reason} → events
 *   A:day:{day}:examples  hash  same fields → the latest 3 events (JSON lines, newest first)
 *   A:day:{day}:scan      hash  count, sum (ms), le:{bound} → scans in that histogram bucket
 *   A:day:{day}:storage   hash  {STATUS}:bytes, {STATUS}:assets → net change of stored bytes and objects
 *   A:users:{count|bytes}:{span}d:{start}   zset  userId → confirmed uploads / bytes in the block of
 *                         `span` days (1, 2, 4 … 256) starting at `start` (epoch day divisible by span)
 *   A:users:totals:{span}d:{start}          zset  count, bytes → the block's confirmed uploads and bytes
 *                         (a zset so that blocks add up with ZUNIONSTORE like the user sets)
 *   A:days                zset  day → epoch day: the days that have aggregates (storage levels, listings)
 *   A:cache:{generation}:{query}:…  string  a query's answer for a few seconds; A:cache:generation
 *
 * Hash tags: none (one Redis node or Sentinel). On Redis Cluster the MULTI of `track` and the
 * ZUNIONSTORE of `topUploaders` would need every analytics key in one slot.
 */
export type DayHash = "events" | "mime" | "reasons" | "examples" | "scan" | "storage";
export const DAY_HASHES: readonly DayHash[] = ["events", "mime", "reasons", "examples", "scan", "storage"];
export type UserMetric = "count" | "bytes";
/** The sets kept per block: one per metric, keyed by user, and the block's totals. */
export type BlockSet = UserMetric | "totals";
export const BLOCK_SETS: readonly BlockSet[] = ["count", "bytes", "totals"];

export function analyticsKey(prefix: string, ...parts: Array<string | number>): string {
  return redisKey(prefix, "analytics", ...parts);
}

export function dayKey(prefix: string, day: Day, hash: DayHash): string {
  return analyticsKey(prefix, "day", day, hash);
}

export function daysIndexKey(prefix: string): string {
  return analyticsKey(prefix, "days");
}

/**
 * Per-user sorted sets are kept for aligned blocks of 2^k days, k = 0..8, so a range of up to 366 days
 * is the union of at most ~16 sets (instead of one per day): `topUploaders` costs O(log days × users).
 */
export const BLOCK_LEVELS = 9;

export interface Block {
  span: number;
  /** First epoch day; a multiple of span. */
  start: number;
}

export function blockKey(prefix: string, set: BlockSet, block: Block): string {
  return analyticsKey(prefix, "users", set, `${block.span}d`, dayFromEpoch(block.start));
}

/** The blocks, one per level, that contain a day: where `track` adds a confirmed upload. */
export function blocksContaining(day: Day): Block[] {
  const e = epochDay(day);
  return Array.from({ length: BLOCK_LEVELS }, (_, k) => {
    const span = 2 ** k;
    return { span, start: Math.floor(e / span) * span };
  });
}

/** The fewest aligned blocks that exactly cover [from, to] (greedy: the largest block that fits). */
export function coveringBlocks(from: Day, to: Day): Block[] {
  const blocks: Block[] = [];
  const last = epochDay(to);
  let cur = epochDay(from);
  while (cur <= last) {
    let span = 2 ** (BLOCK_LEVELS - 1);
    while (span > 1 && (cur % span !== 0 || cur + span - 1 > last)) span /= 2;
    blocks.push({ span, start: cur });
    cur += span;
  }
  return blocks;
}

export function cacheGenerationKey(prefix: string): string {
  return analyticsKey(prefix, "cache", "generation");
}

export function cacheKey(prefix: string, generation: string, ...parts: Array<string | number>): string {
  return analyticsKey(prefix, "cache", generation, ...parts);
}
