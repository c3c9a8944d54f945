import { type Day, daysIn } from "./days.ts";
import type { AnalyticsDeps } from "./deps.ts";
import { OUTCOMES, type Outcome, TYPE_OF, zeroByOutcome } from "./outcomes.ts";
import type { DayRange } from "./range.ts";
import { num, readDayHashes } from "./read-days.ts";

export interface DayCounts {
  day: Day;
  counts: Record<Outcome, number>;
  bytes: Record<Outcome, number>;
}

/** Events and bytes per type for each day of the range, from the `events` hashes (one round trip). */
export async function readDayCounts(deps: AnalyticsDeps, range: DayRange): Promise<DayCounts[]> {
  const days = daysIn(range.from, range.to);
  const hashes = await readDayHashes(deps, days, "events");
  return days.map((day, i) => {
    const hash = hashes[i] ?? {};
    const counts = zeroByOutcome();
    const bytes = zeroByOutcome();
    for (const outcome of OUTCOMES) {
      counts[outcome] = num(hash[TYPE_OF[outcome]]);
      bytes[outcome] = num(hash[`${TYPE_OF[outcome]}:bytes`]);
    }
    return { day, counts, bytes };
  });
}

export function sumCounts(days: readonly DayCounts[]): { counts: Record<Outcome, number>; bytes: Record<Outcome, number> } {
  const counts = zeroByOutcome();
  const bytes = zeroByOutcome();
  for (const d of days) {
    for (const outcome of OUTCOMES) {
      counts[outcome] += d.counts[outcome];
      bytes[outcome] += d.bytes[outcome];
    }
  }
  return { counts, bytes };
}
