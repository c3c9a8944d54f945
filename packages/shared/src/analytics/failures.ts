import type { UploadEventType } from "@airlock/db";
import { cached } from "./cache.ts";
import { EXAMPLES_PER_REASON } from "./day-delta.ts";
import { type Day, daysIn } from "./days.ts";
import type { AnalyticsDeps } from "./deps.ts";
import { dayKey } from "./keys.ts";
import { assertRange, type DayRange } from "./range.ts";
import { execPipeline, num, readDayHashes } from "./read-days.ts";

export interface FailureExample {
  assetId: string;
  userId: string;
  mime: string | null;
  at: string;
}

export interface ReasonCount {
  /** The failure code (FAILED: `object_missing`, `size_mismatch`, `scan_unavailable`, …) or the threat names. */
  reason: string;
  count: number;
  /** Share of this kind's events in the range. */
  share: number;
  /** The latest events with this reason (up to 3). */
  examples: FailureExample[];
}

export interface ReasonBreakdown {
  total: number;
  reasons: ReasonCount[];
  /** Reasons beyond `limit`, not listed (their events are in `total`). */
  moreReasons: number;
}

export interface FailuresResult extends DayRange {
  /** Uploads that failed (at confirmation, or when no scanner could give a verdict), by reason. */
  failed: ReasonBreakdown;
  /** Files quarantined, by threat names (or `unscannable`). */
  quarantined: ReasonBreakdown;
}

/** Failures and quarantines by reason, most frequent first (ties by name), each with recent examples. */
export async function failures(deps: AnalyticsDeps, range: DayRange & { limit?: number }): Promise<FailuresResult> {
  assertRange(range);
  const limit = range.limit ?? 20;
  return cached(deps, ["failures", range.from, range.to, limit], async () => {
    const days = daysIn(range.from, range.to);
    const hashes = await readDayHashes(deps, days, "reasons");
    // field → count, and the days it occurred on, latest first (where its examples are).
    const totals = new Map<string, { count: number; days: Day[] }>();
    for (let i = days.length - 1; i >= 0; i--) {
      for (const [field, value] of Object.entries(hashes[i] ?? {})) {
        const n = num(value);
        if (n === 0) continue;
        const t = totals.get(field) ?? { count: 0, days: [] };
        t.count += n;
        t.days.push(days[i] as Day);
        totals.set(field, t);
      }
    }
    const breakdown = (type: UploadEventType) => {
      const entries = [...totals]
        .filter(([field]) => field.startsWith(`${type}|`))
        .map(([field, t]) => ({ field, reason: field.slice(type.length + 1), ...t }))
        .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
      return { total: entries.reduce((a, e) => a + e.count, 0), shown: entries.slice(0, limit), more: Math.max(0, entries.length - limit) };
    };
    const failed = breakdown("FAILED");
    const quarantined = breakdown("QUARANTINED");

    // Each listed day holds at least one example, so the latest 3 days of a reason are enough.
    const wanted = [...failed.shown, ...quarantined.shown].flatMap((e) =>
      e.days.slice(0, EXAMPLES_PER_REASON).map((day) => ({ field: e.field, day })),
    );
    const values = (await execPipeline(deps, (p) => {
      for (const w of wanted) p.hget(dayKey(deps.env.REDIS_PREFIX, w.day, "examples"), w.field);
    })) as Array<string | null>;
    const examples = new Map<string, FailureExample[]>();
    wanted.forEach((w, i) => {
      const lines = values[i]?.split("\n") ?? [];
      examples.set(w.field, [...(examples.get(w.field) ?? []), ...lines.map((l) => JSON.parse(l) as FailureExample)]);
    });
    const finish = (b: ReturnType<typeof breakdown>): ReasonBreakdown => ({
      total: b.total,
      moreReasons: b.more,
      reasons: b.shown.map((e) => ({
        reason: e.reason,
        count: e.count,
        share: b.total ? e.count / b.total : 0,
        examples: (examples.get(e.field) ?? []).sort((x, y) => (x.at < y.at ? 1 : x.at > y.at ? -1 : 0)).slice(0, EXAMPLES_PER_REASON),
      })),
    });
    return { from: range.from, to: range.to, failed: finish(failed), quarantined: finish(quarantined) };
  });
}
