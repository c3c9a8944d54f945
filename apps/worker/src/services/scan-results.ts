import type { Asset, ScanVerdict as DbVerdict, PrismaClient } from "@airlock/db";
import type { Metrics } from "@airlock/shared/metrics";
import type { ScanVerdict } from "@airlock/shared/scanner";

const verdictOf: Record<Exclude<ScanVerdict["kind"], "pending">, DbVerdict> = {
  clean: "CLEAN",
  infected: "INFECTED",
  unscannable: "UNSCANNABLE",
  error: "ERROR",
};

/** The per-engine verdicts inside a verdict: a multi-engine result carries one per engine. */
export function engineVerdicts(verdict: ScanVerdict): ScanVerdict[] {
  const engines = (verdict.raw as { engines?: ScanVerdict[] } | undefined)?.engines;
  return Array.isArray(engines) && engines.length > 0 ? engines : [verdict];
}

/**
 * One ScanResult row per engine that answered (pending answers are not results). Verdicts that end the
 * scan are recorded inside the transaction of the status change (`ctx.db` is then the transaction), so
 * two workers racing one asset leave one set of results, the winner's.
 */
export async function recordScanResults(
  ctx: { db: Pick<PrismaClient, "scanResult">; metrics: Metrics },
  asset: Asset,
  verdict: ScanVerdict,
  durationMs: number,
) {
  const rows = engineVerdicts(verdict)
    .filter((v): v is Exclude<ScanVerdict, { kind: "pending" }> => v.kind !== "pending")
    .map((v) => ({
      assetId: asset.id,
      engine: v.engine,
      verdict: verdictOf[v.kind],
      threats: v.kind === "infected" ? v.threats : [],
      signatureVersion: "signatureVersion" in v ? (v.signatureVersion ?? null) : null,
      durationMs: Math.round(durationMs),
      // The engine's own answer stays in the logs; the row keeps what an operator needs to read.
      raw: {
        kind: v.kind,
        reason: "reason" in v ? v.reason : null,
        cached: (verdict.raw as { cached?: boolean } | undefined)?.cached === true,
      },
    }));
  // One create per row, not createMany: Prisma 7 caches the query plan of a create but compiles every
  // createMany afresh (~4 ms of CPU per scan here), and a scan has one row per engine, usually one.
  for (const row of rows) await ctx.db.scanResult.create({ data: row, select: { id: true } });
  for (const row of rows) {
    const verdictLabel = row.verdict.toLowerCase();
    ctx.metrics.scansTotal.inc({ verdict: verdictLabel });
    ctx.metrics.scanDuration.observe({ engine: row.engine, verdict: verdictLabel }, durationMs / 1000);
  }
  return rows;
}
