import { cached } from "./cache.ts";
import { readDayCounts, sumCounts } from "./day-counts.ts";
import type { AnalyticsDeps } from "./deps.ts";
import type { Outcome } from "./outcomes.ts";
import { assertRange, type DayRange, rangeDays } from "./range.ts";

export interface MetricsResult extends DayRange, Record<Outcome, number> {
  days: number;
  /** Sum of the sizes each type's events carried: declared (initiated), stored (confirmed, scanned, …). */
  bytes: Record<Outcome, number>;
  /**
   * confirmed ÷ initiated, both counted by the UTC day the event happened (null when nothing was
   * initiated). An upload initiated on one day and confirmed on the next counts in different days, so on
   * short ranges the rate can move (even above 1); over ranges much longer than an upload it is the
   * share of started uploads that completed.
   */
  successRate: number | null;
  /** quarantined ÷ scanned (null without scans). */
  quarantineRate: number | null;
}

/** Totals of the range: events per type, bytes, success and quarantine rates. O(days). */
export async function metrics(deps: AnalyticsDeps, range: DayRange): Promise<MetricsResult> {
  assertRange(range);
  return cached(deps, ["metrics", range.from, range.to], async () => {
    const { counts, bytes } = sumCounts(await readDayCounts(deps, range));
    return {
      from: range.from,
      to: range.to,
      days: rangeDays(range),
      ...counts,
      bytes,
      successRate: counts.initiated ? counts.confirmed / counts.initiated : null,
      quarantineRate: counts.scanned ? counts.quarantined / counts.scanned : null,
    };
  });
}
