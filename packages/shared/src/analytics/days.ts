/**
 * UTC calendar days, the unit of every analytics bucket and range. A day is written `YYYY-MM-DD` and
 * covers [00:00:00.000Z, 24:00:00.000Z) of that date: an event at 23:59:59.999Z counts for that day,
 * one at 00:00:00.000Z the next day for the next. Nothing here depends on the server's time zone.
 */
export type Day = string;

export const MS_PER_DAY = 86_400_000;
const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** The UTC day an instant falls on. */
export function dayOf(date: Date): Day {
  return date.toISOString().slice(0, 10);
}

/** True for a real calendar date in `YYYY-MM-DD` from 1970 on (2025-02-30 is not one). */
export function isDay(value: string): boolean {
  if (!DAY_PATTERN.test(value)) return false;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return Number.isFinite(ms) && ms >= 0 && new Date(ms).toISOString().slice(0, 10) === value;
}

/** Days since 1970-01-01 (UTC). */
export function epochDay(day: Day): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / MS_PER_DAY);
}

export function dayFromEpoch(epoch: number): Day {
  return new Date(epoch * MS_PER_DAY).toISOString().slice(0, 10);
}

export function addDays(day: Day, n: number): Day {
  return dayFromEpoch(epochDay(day) + n);
}

/** 00:00:00.000Z of the day. */
export function startOf(day: Day): Date {
  return new Date(epochDay(day) * MS_PER_DAY);
}

/** Every day from `from` to `to`, both included. */
export function daysIn(from: Day, to: Day): Day[] {
  const days: Day[] = [];
  for (let e = epochDay(from), last = epochDay(to); e <= last; e++) days.push(dayFromEpoch(e));
  return days;
}
