/**
 * The dashboard's date range: whole UTC days written `YYYY-MM-DD`, both ends included, as the analytics
 * API takes them (`{ from, to }`, at most 366 days). It lives in the URL (`?range=7` or
 * `?from=…&to=…`), so a reload or a shared link shows the same numbers. A preset is relative: `?range=7`
 * always means the last 7 days ending today (UTC), and moves with the clock.
 *
 * The same day arithmetic exists in `@airlock/shared/analytics`, but that entry point pulls in server
 * code; these few lines keep the bundle browser-only.
 */

export type Day = string;

/** The API refuses longer ranges (a leap year). */
export const MAX_RANGE_DAYS = 366;
export const PRESETS = [7, 30, 90] as const;
export type Preset = (typeof PRESETS)[number];
export const DEFAULT_PRESET: Preset = 30;

export interface DateRange {
  from: Day;
  to: Day;
  /** The preset it came from, or "custom" for explicit days. */
  preset: Preset | "custom";
}

const MS_PER_DAY = 86_400_000;
const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** The UTC day an instant falls on. */
export function dayOf(date: Date): Day {
  return date.toISOString().slice(0, 10);
}

/** True for a real calendar date (2025-02-30 is not one). */
export function isDay(value: string): boolean {
  if (!DAY_PATTERN.test(value)) return false;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === value;
}

export function addDays(day: Day, n: number): Day {
  return dayOf(new Date(Date.parse(`${day}T00:00:00Z`) + n * MS_PER_DAY));
}

/** Days from `from` to `to`, both included. */
export function daysBetween(from: Day, to: Day): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / MS_PER_DAY) + 1;
}

/** The last `days` days ending today (UTC). */
export function presetRange(days: Preset, now = new Date()): DateRange {
  const to = dayOf(now);
  return { from: addDays(to, -(days - 1)), to, preset: days };
}

/** Why a custom range cannot be asked for, in words; null when it is fine. */
export function rangeProblem(from: string, to: string): string | null {
  if (!isDay(from)) return "Choose a start date.";
  if (!isDay(to)) return "Choose an end date.";
  if (from > to) return "The start date is after the end date.";
  const days = daysBetween(from, to);
  if (days > MAX_RANGE_DAYS) return `That range covers ${days} days; at most ${MAX_RANGE_DAYS} can be shown at once.`;
  return null;
}

/**
 * The range the URL asks for. A valid `from`/`to` pair wins; otherwise a known `range` preset; otherwise
 * the default (30 days). A broken custom range falls back to the default rather than an error page,
 * and `problem` says what was wrong with it.
 */
export function parseRange(params: URLSearchParams, now = new Date()): DateRange & { problem: string | null } {
  const from = params.get("from");
  const to = params.get("to");
  if (from !== null || to !== null) {
    const problem = rangeProblem(from ?? "", to ?? "");
    if (!problem) return { from: from as Day, to: to as Day, preset: "custom", problem: null };
    return { ...presetRange(DEFAULT_PRESET, now), problem };
  }
  const preset = Number(params.get("range"));
  const known = PRESETS.find((p) => p === preset);
  return { ...presetRange(known ?? DEFAULT_PRESET, now), problem: null };
}

/** The search params for a range, keeping any other params of the page. The default adds nothing. */
export function rangeParams(range: Pick<DateRange, "preset" | "from" | "to">, current = new URLSearchParams()): URLSearchParams {
  const next = new URLSearchParams(current);
  next.delete("range");
  next.delete("from");
  next.delete("to");
  if (range.preset === "custom") {
    next.set("from", range.from);
    next.set("to", range.to);
  } else if (range.preset !== DEFAULT_PRESET) next.set("range", String(range.preset));
  return next;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
const dayYearFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });

/** "Nov 28" (the UTC day, whatever the browser's zone). */
export function formatDay(day: Day): string {
  return dayFormat.format(new Date(`${day}T00:00:00Z`));
}

/** The range in words: "Last 7 days (Nov 22 – Nov 28, 2026, UTC)". */
export function describeRange(range: DateRange): string {
  const span = `${formatDay(range.from)} – ${dayYearFormat.format(new Date(`${range.to}T00:00:00Z`))}, UTC`;
  return range.preset === "custom" ? span : `Last ${range.preset} days (${span})`;
}
