import { cached } from "./cache.ts";
import { type Day, daysIn, epochDay } from "./days.ts";
import type { AnalyticsDeps } from "./deps.ts";
import { daysIndexKey } from "./keys.ts";
import { assertRange, type DayRange } from "./range.ts";
import { execPipeline, num, readDayHashes } from "./read-days.ts";
import { STORED_STATUSES, type StoredStatus } from "./storage-flow.ts";

export type StorageLevels = Record<StoredStatus | "total", number>;

export interface StoragePoint {
  day: Day;
  /** Bytes stored at the end of the day (UTC), by asset status. */
  bytes: StorageLevels;
  /** Objects stored at the end of the day, by asset status. */
  assets: StorageLevels;
}

function zero(): StorageLevels {
  return { UPLOADED: 0, CLEAN: 0, QUARANTINED: 0, FAILED: 0, total: 0 };
}

/**
 * Stored bytes by status at the end of each day of the range, as the events imply (storage-flow.ts):
 * the running sum of the per-day changes since the first event. Reads every day with data up to `to`
 * (O(days of history), a few hundred HGETALLs in one round trip), cached like the other answers.
 * `current` is the level at the end of `to`.
 */
export async function storageUsage(
  deps: AnalyticsDeps,
  range: DayRange,
): Promise<DayRange & { current: Omit<StoragePoint, "day">; points: StoragePoint[] }> {
  assertRange(range);
  return cached(deps, ["storage", range.from, range.to], async () => {
    const [history] = (await execPipeline(deps, (p) => {
      p.zrangebyscore(daysIndexKey(deps.env.REDIS_PREFIX), "-inf", epochDay(range.to));
    })) as [Day[]];
    const before = history.filter((d) => d < range.from);
    const inRange = daysIn(range.from, range.to);
    const hashes = await readDayHashes(deps, [...before, ...inRange], "storage");
    const bytes = zero();
    const assets = zero();
    const apply = (hash: Record<string, string> | undefined) => {
      for (const status of STORED_STATUSES) {
        bytes[status] += num(hash?.[`${status}:bytes`]);
        assets[status] += num(hash?.[`${status}:assets`]);
      }
      bytes.total = STORED_STATUSES.reduce((a, s) => a + bytes[s], 0);
      assets.total = STORED_STATUSES.reduce((a, s) => a + assets[s], 0);
    };
    before.forEach((_, i) => {
      apply(hashes[i]);
    });
    const points = inRange.map((day, i) => {
      apply(hashes[before.length + i]);
      return { day, bytes: { ...bytes }, assets: { ...assets } };
    });
    return { from: range.from, to: range.to, current: { bytes: { ...bytes }, assets: { ...assets } }, points };
  });
}
