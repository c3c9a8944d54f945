import type { PrismaClient, Severity } from "@airlock/db";
import type { Queues } from "../queue-client.ts";

/**
 * The built-in alert rules. Each reads current numbers and says whether its condition holds; the
 * lifecycle (fire once, update while firing, resolve) lives in evaluate.ts. Thresholds come from env.
 */
export interface AlertThresholds {
  /** Success rate = confirmed / (confirmed + failed at confirm) over the window; fires below this (0–1). */
  successRateMin: number;
  /** Fewer outcomes than this in the window: too little data, the rule stays quiet. */
  successRateMinSample: number;
  /** p95 and any single scan above this (ms) fire. */
  scanTimeMaxMs: number;
  /** Jobs waiting in the scan queue above this fire. */
  scanQueueMax: number;
  /** The rolling window of the rate and timing rules (minutes). */
  windowMinutes: number;
}

export interface RuleSources {
  db: PrismaClient;
  queues: Queues;
  now: Date;
  thresholds: AlertThresholds;
}

export interface RuleResult {
  firing: boolean;
  value: number;
  threshold: number;
  details: Record<string, unknown>;
}

export interface AlertRule {
  name: string;
  severity: Severity;
  summary: string;
  evaluate(sources: RuleSources): Promise<RuleResult>;
}

const since = (s: RuleSources) => new Date(s.now.getTime() - s.thresholds.windowMinutes * 60_000);

export const uploadSuccessRate: AlertRule = {
  name: "upload_success_rate",
  severity: "WARNING",
  summary: "Upload success rate below threshold",
  async evaluate(s) {
    const rows = await s.db.uploadEvent.groupBy({
      by: ["type"],
      where: { at: { gte: since(s) }, OR: [{ type: "CONFIRMED" }, { type: "FAILED", reason: { not: "scan_unavailable" } }] },
      _count: true,
    });
    const confirmed = rows.find((r) => r.type === "CONFIRMED")?._count ?? 0;
    const failed = rows.find((r) => r.type === "FAILED")?._count ?? 0;
    const total = confirmed + failed;
    const rate = total ? confirmed / total : 1;
    return {
      firing: total >= s.thresholds.successRateMinSample && rate < s.thresholds.successRateMin,
      value: rate,
      threshold: s.thresholds.successRateMin,
      details: { confirmed, failed, windowMinutes: s.thresholds.windowMinutes },
    };
  },
};

export const scanTime: AlertRule = {
  name: "scan_time",
  severity: "WARNING",
  summary: "Scans take too long (p95 or a single scan)",
  async evaluate(s) {
    const [row] = await s.db.$queryRaw<Array<{ p95: number | null; max: number | null; n: bigint }>>`
      SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY "durationMs") AS p95, max("durationMs") AS max, count(*) AS n
      FROM "UploadEvent" WHERE type = 'SCANNED' AND at >= ${since(s)} AND "durationMs" IS NOT NULL`;
    const p95 = Number(row?.p95 ?? 0);
    const max = Number(row?.max ?? 0);
    return {
      firing: p95 > s.thresholds.scanTimeMaxMs || max > s.thresholds.scanTimeMaxMs,
      value: Math.max(p95, max),
      threshold: s.thresholds.scanTimeMaxMs,
      details: { p95Ms: p95, maxMs: max, scans: Number(row?.n ?? 0) },
    };
  },
};

export const virusDetected: AlertRule = {
  name: "virus_detected",
  severity: "CRITICAL",
  summary: "Malware was detected and quarantined",
  async evaluate(s) {
    const events = await s.db.securityEvent.findMany({
      where: { type: "malware_detected", createdAt: { gte: since(s) } },
      orderBy: { createdAt: "desc" },
      take: 10,
      select: { assetId: true, details: true, createdAt: true },
    });
    const count = await s.db.securityEvent.count({ where: { type: "malware_detected", createdAt: { gte: since(s) } } });
    return { firing: count > 0, value: count, threshold: 0, details: { recent: events } };
  },
};

export const scanQueueDepth: AlertRule = {
  name: "scan_queue_depth",
  severity: "WARNING",
  summary: "Scan queue is backing up",
  async evaluate(s) {
    const counts = await s.queues["asset-virus-scan"].getJobCounts("waiting", "prioritized", "delayed");
    const depth = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
    return { firing: depth > s.thresholds.scanQueueMax, value: depth, threshold: s.thresholds.scanQueueMax, details: counts };
  },
};

export const cleanupFailures: AlertRule = {
  name: "cleanup_failures",
  severity: "WARNING",
  summary: "The last cleanup run could not remove some items",
  async evaluate(s) {
    const last = await s.db.cleanupRun.findFirst({ where: { dryRun: false, finishedAt: { not: null } }, orderBy: { startedAt: "desc" } });
    const errors = Array.isArray(last?.errors) ? last.errors.length : 0;
    return {
      firing: errors > 0,
      value: errors,
      threshold: 0,
      details: { runId: last?.id ?? null, errors: Array.isArray(last?.errors) ? last.errors.slice(0, 10) : [] },
    };
  },
};

export const alertRules: AlertRule[] = [uploadSuccessRate, scanTime, virusDetected, scanQueueDepth, cleanupFailures];
