import { z } from "zod";
import { AppError } from "../errors.ts";
import { addDays, type Day, dayOf, epochDay, isDay } from "./days.ts";

/**
 * A query range: whole UTC days, `from` and `to` both included (`from=2025-01-01&to=2025-01-31` is 31
 * days). At most {@link MAX_RANGE_DAYS} days, so every query reads a bounded number of buckets.
 */
export interface DayRange {
  from: Day;
  to: Day;
}

/** A leap year. */
export const MAX_RANGE_DAYS = 366;
/** Without `from`, a range covers this many days ending at `to` (default: today, UTC). */
export const DEFAULT_RANGE_DAYS = 30;

/** Number of days in the range, both ends included. */
export function rangeDays(range: DayRange): number {
  return epochDay(range.to) - epochDay(range.from) + 1;
}

/** Why a range is not acceptable, in words for the caller; null when it is fine. */
export function rangeProblem(range: DayRange): string | null {
  if (!isDay(range.from)) return `from must be a date written YYYY-MM-DD (UTC), got "${range.from}"`;
  if (!isDay(range.to)) return `to must be a date written YYYY-MM-DD (UTC), got "${range.to}"`;
  if (range.from > range.to) return `from (${range.from}) is after to (${range.to})`;
  const days = rangeDays(range);
  if (days > MAX_RANGE_DAYS) return `the range ${range.from}..${range.to} covers ${days} days; at most ${MAX_RANGE_DAYS} are allowed`;
  return null;
}

/** Throws BAD_REQUEST for a range the services refuse (they check even when the caller did not). */
export function assertRange(range: DayRange): DayRange {
  const problem = rangeProblem(range);
  if (problem) throw new AppError("BAD_REQUEST", problem, { details: { from: range.from, to: range.to, maxDays: MAX_RANGE_DAYS } });
  return range;
}

/** Fills in the defaults: `to` = today (UTC), `from` = `to` − 29 days. */
export function resolveRange(input: { from?: Day | undefined; to?: Day | undefined }, now = new Date()): DayRange {
  const to = input.to ?? dayOf(now);
  return { from: input.from ?? addDays(to, -(DEFAULT_RANGE_DAYS - 1)), to };
}

export const ZDay = z.string().refine(isDay, { message: "expected a date written YYYY-MM-DD (UTC)" });

/**
 * `{ from?, to? }` as requests carry it; `resolveRange` fills the defaults and the services check the
 * rest (from ≤ to, at most 366 days) with a message saying what is wrong.
 */
export const ZDayRange = z.object({ from: ZDay.optional(), to: ZDay.optional() }).strict();
export type TDayRange = z.infer<typeof ZDayRange>;
