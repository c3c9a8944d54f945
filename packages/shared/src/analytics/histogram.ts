/**
 * Scan durations are kept as a histogram per day (plus sum and count), so percentiles over any range
 * come from adding bucket counts. Upper bounds in ms; a scan of d ms counts in the first bucket with
 * d ≤ bound, or in +Inf.
 */
export const SCAN_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 600000] as const;

/** Field of the bucket a duration falls in: `le:250`, …, `le:+Inf`. */
export function bucketField(durationMs: number): string {
  const bound = SCAN_BUCKETS_MS.find((b) => durationMs <= b);
  return `le:${bound ?? "+Inf"}`;
}

export const BUCKET_FIELDS = [...SCAN_BUCKETS_MS.map((b) => `le:${b}`), "le:+Inf"];

/**
 * The q-quantile estimated from bucket counts (in {@link BUCKET_FIELDS} order), the way Prometheus'
 * `histogram_quantile` does: rank = q × count; within the bucket that reaches the rank, interpolate
 * linearly between its lower bound (the previous bound, 0 for the first) and its upper bound. A rank in
 * +Inf answers the largest finite bound. Exact only at bucket bounds; null without scans.
 */
export function quantile(q: number, counts: readonly number[]): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const inBucket = counts[i] ?? 0;
    if (inBucket > 0 && cumulative + inBucket >= rank) {
      const upper = SCAN_BUCKETS_MS[i];
      if (upper === undefined) return SCAN_BUCKETS_MS[SCAN_BUCKETS_MS.length - 1] ?? null;
      const lower = i === 0 ? 0 : (SCAN_BUCKETS_MS[i - 1] ?? 0);
      return lower + ((upper - lower) * (rank - cumulative)) / inBucket;
    }
    cumulative += inBucket;
  }
  return SCAN_BUCKETS_MS[SCAN_BUCKETS_MS.length - 1] ?? null;
}
