import { cached } from "./cache.ts";
import { readDayCounts } from "./day-counts.ts";
import type { Day } from "./days.ts";
import type { AnalyticsDeps } from "./deps.ts";
import type { Outcome } from "./outcomes.ts";
import { assertRange, type DayRange } from "./range.ts";

export interface TimeseriesPoint extends Record<Outcome, number> {
  day: Day;
  /** Bytes confirmed that day. */
  bytesConfirmed: number;
}

/** One point per UTC day of the range (days without events are zeros), events per outcome. */
export async function timeseries(deps: AnalyticsDeps, range: DayRange): Promise<DayRange & { points: TimeseriesPoint[] }> {
  assertRange(range);
  return cached(deps, ["timeseries", range.from, range.to], async () => ({
    from: range.from,
    to: range.to,
    points: (await readDayCounts(deps, range)).map((d) => ({ day: d.day, ...d.counts, bytesConfirmed: d.bytes.confirmed })),
  }));
}
