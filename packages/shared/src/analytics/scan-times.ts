import { cached } from "./cache.ts";
import { type Day, daysIn } from "./days.ts";
import type { AnalyticsDeps } from "./deps.ts";
import { BUCKET_FIELDS, quantile, SCAN_BUCKETS_MS } from "./histogram.ts";
import { assertRange, type DayRange } from "./range.ts";
import { num, readDayHashes } from "./read-days.ts";

export interface ScanTimeStats {
  count: number;
  /** Exact mean (sum ÷ count); null without scans. */
  avgMs: number | null;
  /** Estimated from the histogram (see `quantile`); null without scans. */
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface ScanTimesResult extends DayRange, ScanTimeStats {
  days: Array<ScanTimeStats & { day: Day }>;
  /** The range's histogram: scans per bucket, `leMs` the bucket's upper bound (null: above the last). */
  buckets: Array<{ leMs: number | null; count: number }>;
}

function stats(count: number, sum: number, buckets: number[]): ScanTimeStats {
  return { count, avgMs: count ? sum / count : null, p50Ms: quantile(0.5, buckets), p95Ms: quantile(0.95, buckets) };
}

/** Scan durations of the clean and quarantined files scanned in the range: per day and overall. */
export async function scanTimes(deps: AnalyticsDeps, range: DayRange): Promise<ScanTimesResult> {
  assertRange(range);
  return cached(deps, ["scan", range.from, range.to], async () => {
    const days = daysIn(range.from, range.to);
    const hashes = await readDayHashes(deps, days, "scan");
    const total = BUCKET_FIELDS.map(() => 0);
    let count = 0;
    let sum = 0;
    const perDay = days.map((day, i) => {
      const hash = hashes[i] ?? {};
      const buckets = BUCKET_FIELDS.map((f) => num(hash[f]));
      buckets.forEach((n, b) => {
        total[b] = (total[b] ?? 0) + n;
      });
      count += num(hash.count);
      sum += num(hash.sum);
      return { day, ...stats(num(hash.count), num(hash.sum), buckets) };
    });
    return {
      from: range.from,
      to: range.to,
      ...stats(count, sum, total),
      days: perDay,
      buckets: total.map((n, b) => ({ leMs: SCAN_BUCKETS_MS[b] ?? null, count: n })),
    };
  });
}
