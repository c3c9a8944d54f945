import type { RouterOutputs } from "@airlock/api/router";
import { formatDay } from "./date-range.ts";

/**
 * Pure shaping of the analytics answers (apps/api/src/routers/analytics.ts) into what the dashboard's
 * charts and widgets draw. No React here, so each rule is unit-tested (dashboard-data.test.ts).
 */
type Analytics = RouterOutputs["analytics"];
export type TimeseriesPoint = Analytics["timeseries"]["points"][number];
export type MimeItem = Analytics["mimeBreakdown"]["items"][number];
export type ReasonBreakdown = Analytics["failures"]["failed"];
export type ScanDay = Analytics["scanTimes"]["days"][number];
export type StoragePoint = Analytics["storageUsage"]["points"][number];
export type QueueDepth = Analytics["queueDepths"]["queues"][number];

/** 0.4213 → "42.1 %"; null (nothing to divide by) → "—". */
export function formatPercent(share: number | null | undefined, digits = 1): string {
  if (share == null || !Number.isFinite(share)) return "—";
  return `${(share * 100).toFixed(digits)} %`;
}

export interface OutcomeRow {
  day: string;
  label: string;
  started: number;
  /** Scanned and found clean (SCANNED events minus the QUARANTINED ones: a quarantine is scanned too). */
  clean: number;
  quarantined: number;
  failed: number;
}

/** Uploads per day by outcome. */
export function outcomeRows(points: readonly TimeseriesPoint[]): OutcomeRow[] {
  return points.map((p) => ({
    day: p.day,
    label: formatDay(p.day),
    started: p.initiated,
    clean: Math.max(0, p.scanned - p.quarantined),
    quarantined: p.quarantined,
    failed: p.failed,
  }));
}

/** True when no upload was even started in the range: the charts say so instead of drawing zeros. */
export function isQuiet(points: readonly TimeseriesPoint[]): boolean {
  return points.every((p) => p.initiated === 0 && p.confirmed === 0 && p.scanned === 0 && p.failed === 0 && p.quarantined === 0);
}

export interface Slice {
  name: string;
  value: number;
  share: number | null;
}

/**
 * The `max − 1` largest types by confirmed uploads, the rest folded into "Other" so a pie stays
 * readable. Types with no confirmed upload (only started or failed) are left out of a share chart.
 */
export function mimeSlices(items: readonly MimeItem[], label: (mime: string) => string, max = 6): Slice[] {
  const confirmed = items.filter((i) => i.confirmed > 0).sort((a, b) => b.confirmed - a.confirmed);
  const total = confirmed.reduce((a, i) => a + i.confirmed, 0);
  const share = (n: number) => (total ? n / total : null);
  if (confirmed.length <= max) return confirmed.map((i) => ({ name: label(i.mime), value: i.confirmed, share: share(i.confirmed) }));
  const head = confirmed.slice(0, max - 1).map((i) => ({ name: label(i.mime), value: i.confirmed, share: share(i.confirmed) }));
  const rest = confirmed.slice(max - 1).reduce((a, i) => a + i.confirmed, 0);
  return [...head, { name: "Other", value: rest, share: share(rest) }];
}

export interface ReasonRow {
  reason: string;
  kind: "Failed" | "Quarantined";
  count: number;
  share: number;
}

const REASON_TEXT: Record<string, string> = {
  object_missing: "File never arrived",
  size_mismatch: "Size differs from declared",
  scan_unavailable: "No scanner answered",
  mime_mismatch: "Content does not match its type",
  expired: "Upload expired",
  unscannable: "Could not be scanned",
};

/** A failure code or threat name in words; threat names stay as the engine wrote them. */
export function reasonLabel(reason: string): string {
  return REASON_TEXT[reason] ?? reason;
}

/** Failures and quarantines by reason, most frequent first, one row per (kind, reason). */
export function reasonRows(failed: ReasonBreakdown, quarantined: ReasonBreakdown): ReasonRow[] {
  const rows = [
    ...failed.reasons.map((r) => ({ reason: reasonLabel(r.reason), kind: "Failed" as const, count: r.count, share: r.share })),
    ...quarantined.reasons.map((r) => ({ reason: reasonLabel(r.reason), kind: "Quarantined" as const, count: r.count, share: r.share })),
  ];
  return rows.sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

export interface ScanRow {
  day: string;
  label: string;
  count: number;
  avgMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
}

/** Scan times per day; days without scans keep nulls so the lines break instead of dropping to zero. */
export function scanRows(days: readonly ScanDay[]): ScanRow[] {
  return days.map((d) => ({ day: d.day, label: formatDay(d.day), count: d.count, avgMs: d.avgMs, p50Ms: d.p50Ms, p95Ms: d.p95Ms }));
}

export interface StorageRow {
  day: string;
  label: string;
  clean: number;
  waiting: number;
  quarantined: number;
  failed: number;
  total: number;
}

/** Stored bytes at the end of each day, by status (UPLOADED reads "waiting for a scan"). */
export function storageRows(points: readonly StoragePoint[]): StorageRow[] {
  return points.map((p) => ({
    day: p.day,
    label: formatDay(p.day),
    clean: p.bytes.CLEAN,
    waiting: p.bytes.UPLOADED,
    quarantined: p.bytes.QUARANTINED,
    failed: p.bytes.FAILED,
    total: p.bytes.total,
  }));
}

/** Jobs the scan queue still has to run (waiting, prioritized, delayed, active); null if it is not listed. */
export function scanQueueDepth(queues: readonly QueueDepth[]): number | null {
  return queues.find((q) => q.name === "asset-virus-scan")?.pending ?? null;
}
