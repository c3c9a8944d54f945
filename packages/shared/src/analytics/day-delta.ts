import type { UploadEventType } from "@airlock/db";
import type { ChainableCommander } from "ioredis";
import { type Day, dayOf, epochDay } from "./days.ts";
import { bucketField } from "./histogram.ts";
import { blockKey, blocksContaining, type DayHash, dayKey, daysIndexKey } from "./keys.ts";
import { type PriorEvents, storageMove } from "./storage-flow.ts";

/**
 * The bucket writer: what one day's aggregates gain from some events, and the Redis commands that add
 * it. `track` builds a delta from the events it newly recorded and adds it in one MULTI; `rebuild` builds
 * deltas from SQL GROUP BYs and writes them over emptied keys; the benchmark loads through `rebuild`.
 */
export interface DayDelta {
  day: Day;
  hashes: Record<Exclude<DayHash, "examples">, Map<string, number>>;
  /** Field (`FAILED|reason`) → example lines, newest first. */
  examples: Map<string, string[]>;
  users: Map<string, { count: number; bytes: number }>;
}

/** Examples kept per day, event type and reason. */
export const EXAMPLES_PER_REASON = 3;
/** Reasons longer than this are cut in the aggregates (the row keeps the whole text). */
export const MAX_REASON_CHARS = 200;
/** Event types whose reasons are counted (with examples). */
export const REASON_TYPES: readonly UploadEventType[] = ["FAILED", "QUARANTINED"];

/** One event, as the aggregates see it. */
export interface AggregatedEvent {
  type: UploadEventType;
  assetId: string;
  userId: string;
  mime: string | null;
  size: number | null;
  durationMs: number | null;
  reason: string | null;
  at: Date;
  /** The asset's recorded events, for the storage move of FAILED and DELETED. */
  prior: PriorEvents;
  /** Size of the asset's CONFIRMED event, if any. */
  confirmedSize: number | null;
}

export function emptyDelta(day: Day): DayDelta {
  return {
    day,
    hashes: { events: new Map(), mime: new Map(), reasons: new Map(), scan: new Map(), storage: new Map() },
    examples: new Map(),
    users: new Map(),
  };
}

export function increment(map: Map<string, number>, field: string, by: number): void {
  if (by !== 0) map.set(field, (map.get(field) ?? 0) + by);
}

export function mimeLabel(mime: string | null): string {
  return mime ?? "unknown";
}

export function reasonLabel(reason: string | null): string {
  if (!reason) return "unknown";
  const chars = Array.from(reason);
  return chars.length > MAX_REASON_CHARS ? chars.slice(0, MAX_REASON_CHARS).join("") : reason;
}

/** The stored form of an example; one function so `track` and `rebuild` write identical strings. */
export function exampleLine(e: { assetId: string; userId: string; mime: string | null; at: Date }): string {
  return JSON.stringify({ assetId: e.assetId, userId: e.userId, mime: e.mime, at: e.at.toISOString() });
}

/** Adds one event to its day's delta (the caller groups events by `dayOf(event.at)`). */
export function addEvent(delta: DayDelta, e: AggregatedEvent): void {
  const { events, mime, reasons, scan, storage } = delta.hashes;
  const size = e.size ?? 0;
  increment(events, e.type, 1);
  increment(events, `${e.type}:bytes`, size);
  increment(mime, `${e.type}|${mimeLabel(e.mime)}`, 1);
  if (e.type === "CONFIRMED") {
    increment(mime, `bytes|${mimeLabel(e.mime)}`, size);
    const user = delta.users.get(e.userId) ?? { count: 0, bytes: 0 };
    user.count += 1;
    user.bytes += size;
    delta.users.set(e.userId, user);
  }
  if (REASON_TYPES.includes(e.type)) {
    const field = `${e.type}|${reasonLabel(e.reason)}`;
    increment(reasons, field, 1);
    const list = delta.examples.get(field) ?? [];
    list.unshift(exampleLine(e));
    delta.examples.set(field, list.slice(0, EXAMPLES_PER_REASON));
  }
  if (e.type === "SCANNED" && e.durationMs != null) {
    increment(scan, "count", 1);
    increment(scan, "sum", e.durationMs);
    increment(scan, bucketField(e.durationMs), 1);
  }
  const move = storageMove(e.type, e.prior);
  const bytes = move.sizeFromConfirmed ? (e.confirmedSize ?? 0) : size;
  if (move.from) {
    increment(storage, `${move.from}:bytes`, -bytes);
    increment(storage, `${move.from}:assets`, -1);
  }
  if (move.to) {
    increment(storage, `${move.to}:bytes`, bytes);
    increment(storage, `${move.to}:assets`, 1);
  }
}

/** Groups events by UTC day into deltas (events in arrival order: the newest example ends first). */
export function deltasOf(events: readonly AggregatedEvent[]): DayDelta[] {
  const byDay = new Map<Day, DayDelta>();
  for (const e of events) {
    const day = dayOf(e.at);
    const delta = byDay.get(day) ?? emptyDelta(day);
    byDay.set(day, delta);
    addEvent(delta, e);
  }
  return [...byDay.values()];
}

/**
 * Prepends example lines to a field, keeping the newest `ARGV[3]`: a read-modify-write that must be
 * atomic, hence a script (queued inside the MULTI like any command).
 */
const PUSH_EXAMPLES = `
local v = ARGV[2]
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then v = v .. '\\n' .. cur end
local keep, pos = tonumber(ARGV[3]), 0
for _ = 1, keep do
  pos = string.find(v, '\\n', pos + 1, true)
  if not pos then break end
end
if pos then v = string.sub(v, 1, pos - 1) end
redis.call('HSET', KEYS[1], ARGV[1], v)
return 1`;

function userTotals(delta: DayDelta): { count: number; bytes: number } {
  let count = 0;
  let bytes = 0;
  for (const u of delta.users.values()) {
    count += u.count;
    bytes += u.bytes;
  }
  return { count, bytes };
}

/** `track`'s write: increments every field, and the user sets of every block level containing the day. */
export function queueIncrements(multi: ChainableCommander, prefix: string, delta: DayDelta): void {
  for (const [hash, fields] of Object.entries(delta.hashes) as Array<[Exclude<DayHash, "examples">, Map<string, number>]>) {
    const key = dayKey(prefix, delta.day, hash);
    for (const [field, by] of fields) multi.hincrby(key, field, by);
  }
  for (const [field, lines] of delta.examples) {
    multi.eval(PUSH_EXAMPLES, 1, dayKey(prefix, delta.day, "examples"), field, lines.join("\n"), EXAMPLES_PER_REASON);
  }
  const totals = userTotals(delta);
  for (const block of delta.users.size ? blocksContaining(delta.day) : []) {
    for (const [userId, { count, bytes }] of delta.users) {
      multi.zincrby(blockKey(prefix, "count", block), count, userId);
      multi.zincrby(blockKey(prefix, "bytes", block), bytes, userId);
    }
    multi.zincrby(blockKey(prefix, "totals", block), totals.count, "count");
    multi.zincrby(blockKey(prefix, "totals", block), totals.bytes, "bytes");
  }
  multi.zadd(daysIndexKey(prefix), epochDay(delta.day), delta.day);
}

/**
 * `rebuild`'s write, over keys the same MULTI has just deleted: each hash in one HSET, the day's user
 * sets in one ZADD each. Larger blocks are recomputed from the day sets afterwards (ZUNIONSTORE).
 */
export function queueReplacement(multi: ChainableCommander, prefix: string, delta: DayDelta): void {
  for (const [hash, fields] of Object.entries(delta.hashes) as Array<[Exclude<DayHash, "examples">, Map<string, number>]>) {
    const nonZero = [...fields].filter(([, v]) => v !== 0).flat();
    if (nonZero.length) multi.hset(dayKey(prefix, delta.day, hash), ...nonZero);
  }
  const examples = [...delta.examples].flatMap(([field, lines]) => [field, lines.join("\n")]);
  if (examples.length) multi.hset(dayKey(prefix, delta.day, "examples"), ...examples);
  if (delta.users.size) {
    const [block] = blocksContaining(delta.day);
    const users = [...delta.users];
    // ZADD takes score-member pairs; chunks keep each command's argument list moderate.
    for (let i = 0; i < users.length; i += 10_000) {
      const chunk = users.slice(i, i + 10_000);
      multi.zadd(blockKey(prefix, "count", block!), ...chunk.flatMap(([id, u]) => [u.count, id]));
      multi.zadd(blockKey(prefix, "bytes", block!), ...chunk.flatMap(([id, u]) => [u.bytes, id]));
    }
    const totals = userTotals(delta);
    multi.zadd(blockKey(prefix, "totals", block!), totals.count, "count", totals.bytes, "bytes");
  }
  if (Object.values(delta.hashes).some((m) => m.size > 0)) multi.zadd(daysIndexKey(prefix), epochDay(delta.day), delta.day);
}
