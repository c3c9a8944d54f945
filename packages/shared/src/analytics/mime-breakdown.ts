import type { UploadEventType } from "@airlock/db";
import { cached } from "./cache.ts";
import { daysIn } from "./days.ts";
import type { AnalyticsDeps } from "./deps.ts";
import { OUTCOMES, type Outcome, zeroByOutcome } from "./outcomes.ts";
import { assertRange, type DayRange } from "./range.ts";
import { num, readDayHashes } from "./read-days.ts";

export interface MimeItem extends Record<Outcome, number> {
  /** Detected type where known (confirmed and later), the declared one before; `unknown` if none. */
  mime: string;
  /** Bytes confirmed with this type. */
  bytes: number;
  /** This type's share of the confirmed uploads of the range (null when none were confirmed). */
  share: number | null;
}

const OUTCOME_OF = Object.fromEntries(OUTCOMES.map((o) => [o.toUpperCase(), o])) as Record<UploadEventType, Outcome>;

/** Events per MIME type and outcome; sorted by confirmed, then initiated (descending), then name. */
export async function mimeBreakdown(deps: AnalyticsDeps, range: DayRange): Promise<DayRange & { items: MimeItem[] }> {
  assertRange(range);
  return cached(deps, ["mime", range.from, range.to], async () => {
    const byMime = new Map<string, Omit<MimeItem, "share">>();
    const item = (mime: string) => {
      const found = byMime.get(mime) ?? { mime, ...zeroByOutcome(), bytes: 0 };
      byMime.set(mime, found);
      return found;
    };
    for (const hash of await readDayHashes(deps, daysIn(range.from, range.to), "mime")) {
      for (const [field, value] of Object.entries(hash)) {
        const bar = field.indexOf("|");
        const head = field.slice(0, bar);
        const mime = field.slice(bar + 1);
        if (head === "bytes") item(mime).bytes += num(value);
        else {
          const outcome = OUTCOME_OF[head as UploadEventType];
          if (outcome) item(mime)[outcome] += num(value);
        }
      }
    }
    const items = [...byMime.values()].filter((i) => OUTCOMES.some((o) => i[o] !== 0));
    const confirmed = items.reduce((a, i) => a + i.confirmed, 0);
    items.sort((a, b) => b.confirmed - a.confirmed || b.initiated - a.initiated || (a.mime < b.mime ? -1 : a.mime > b.mime ? 1 : 0));
    return { from: range.from, to: range.to, items: items.map((i) => ({ ...i, share: confirmed ? i.confirmed / confirmed : null })) };
  });
}
