import type { Asset, AssetStatus, Prisma, PrismaClient } from "@airlock/db";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { trackMany } from "../analytics/track.ts";
import { mapConcurrently } from "../map-concurrently.ts";
import { QUARANTINE_PREFIX, quarantineKey, SIGNABLE_PREFIX, type StorageDriver } from "../storage/driver.ts";

/**
 * Reclaims what the airlock no longer needs (DESIGN §4): abandoned uploads (PENDING_UPLOAD, their
 * multipart uploads aborted), old FAILED and old QUARANTINED assets, orphan objects with no live
 * asset and unfinished multipart uploads no asset is bound to. Rows stay as DELETED for the audit trail.
 *
 * Safe anywhere, any time: each asset is claimed with a guarded update (status = expected) before its
 * objects are touched, so two concurrent runs delete each object once; an error on one item is
 * recorded and the run goes on; a dry run walks exactly the same path without claiming or deleting.
 */
export const CLEANUP_CATEGORIES = ["abandoned", "failed", "quarantined", "orphans"] as const;
export type CleanupCategory = (typeof CLEANUP_CATEGORIES)[number];

export interface CleanupAges {
  abandonedHours: number;
  failedHours: number;
  quarantinedHours: number;
}
export const DEFAULT_CLEANUP_AGES: CleanupAges = { abandonedHours: 24, failedHours: 7 * 24, quarantinedHours: 30 * 24 };

export interface CleanupOptions {
  dryRun: boolean;
  trigger: string;
  categories?: readonly CleanupCategory[];
  /** Overrides every category's age (hours). */
  olderThanHours?: number;
  ages?: CleanupAges;
  now?: Date;
  batchSize?: number;
  /** How many items a dry run lists as a sample. */
  sampleSize?: number;
  /**
   * The run will be announced (cleanup.completed): the write that finishes it also marks it
   * `announcePending`, so a caller that stops before announcing leaves it for the reconciler.
   */
  announce?: boolean;
}

export interface CleanupDeps {
  db: PrismaClient;
  storage: StorageDriver;
  log?: Pick<Logger, "warn" | "info">;
  /** For the analytics of the DELETED events (`trackMany`); without them only the event rows are written. */
  redis?: Redis;
  env?: { REDIS_PREFIX: string };
}

export interface CategoryTotals {
  count: number;
  bytes: number;
}
export interface CleanupReport {
  runId: string;
  dryRun: boolean;
  counts: Record<CleanupCategory, CategoryTotals>;
  bytesFreed: number;
  errors: Array<{ category: CleanupCategory; assetId?: string; key?: string; message: string }>;
  sample: Array<{ category: CleanupCategory; assetId?: string; key: string; bytes: number }>;
  durationMs: number;
}

const statusOf: Record<Exclude<CleanupCategory, "orphans">, AssetStatus> = {
  abandoned: "PENDING_UPLOAD",
  failed: "FAILED",
  quarantined: "QUARANTINED",
};

export async function runCleanup(deps: CleanupDeps, options: CleanupOptions): Promise<CleanupReport> {
  const started = Date.now();
  const now = options.now ?? new Date();
  const ages = options.ages ?? DEFAULT_CLEANUP_AGES;
  const categories = options.categories?.length ? options.categories : CLEANUP_CATEGORIES;
  const batchSize = options.batchSize ?? 500;
  const sampleSize = options.sampleSize ?? 20;
  const run = await deps.db.cleanupRun.create({ data: { dryRun: options.dryRun, trigger: options.trigger } });
  const report: CleanupReport = {
    runId: run.id,
    dryRun: options.dryRun,
    counts: {
      abandoned: { count: 0, bytes: 0 },
      failed: { count: 0, bytes: 0 },
      quarantined: { count: 0, bytes: 0 },
      orphans: { count: 0, bytes: 0 },
    },
    bytesFreed: 0,
    errors: [],
    sample: [],
    durationMs: 0,
  };
  const cutoff = (hours: number) => new Date(now.getTime() - (options.olderThanHours ?? hours) * 3600_000);
  const note = (category: CleanupCategory, key: string, bytes: number, assetId?: string) => {
    report.counts[category].count++;
    report.counts[category].bytes += bytes;
    if (!options.dryRun) report.bytesFreed += bytes;
    if (report.sample.length < sampleSize) report.sample.push({ category, assetId, key, bytes });
  };

  for (const category of categories) {
    if (category === "orphans") {
      await sweepOrphans(deps, options.dryRun, cutoff(ages.abandonedHours), note, report);
      await sweepOrphanMultipartUploads(deps, options.dryRun, cutoff(ages.abandonedHours), note, report);
      continue;
    }
    const where: Prisma.AssetWhereInput =
      category === "abandoned"
        ? { status: "PENDING_UPLOAD", createdAt: { lt: cutoff(ages.abandonedHours) } }
        : category === "failed"
          ? { status: "FAILED", updatedAt: { lt: cutoff(ages.failedHours) } }
          : { status: "QUARANTINED", quarantinedAt: { lt: cutoff(ages.quarantinedHours) } };
    let cursor: string | undefined;
    for (;;) {
      const batch = await deps.db.asset.findMany({
        where: cursor ? { AND: [where, { id: { gt: cursor } }] } : where,
        orderBy: { id: "asc" },
        take: batchSize,
      });
      await reclaimBatch(deps, batch, statusOf[category], options.dryRun, now, {
        done: (asset, bytes) => note(category, keyOf(asset), bytes, asset.id),
        failed: (asset, error) => report.errors.push({ category, assetId: asset.id, message: error.message }),
      });
      if (batch.length < batchSize) break;
      cursor = batch.at(-1)?.id;
    }
  }

  report.durationMs = Date.now() - started;
  await deps.db.cleanupRun.update({
    where: { id: run.id },
    data: {
      counts: { ...report.counts, sample: report.sample } as unknown as Prisma.InputJsonValue,
      bytesFreed: BigInt(report.bytesFreed),
      errors: report.errors as unknown as Prisma.InputJsonValue,
      finishedAt: new Date(),
      announcePending: options.announce === true,
    },
  });
  return report;
}

function keyOf(asset: Asset): string {
  return asset.status === "QUARANTINED" ? quarantineKey(asset.storageKey) : asset.storageKey;
}

/** Storage calls in flight per batch: cleanup is round-trip bound, not CPU bound. */
const STORAGE_CONCURRENCY = 16;

/**
 * Claims a batch in one guarded statement (status → DELETED where it is still the expected status:
 * what another run claimed first is not returned, so it is not touched twice), then measures and
 * removes each claimed asset's objects, and records the DELETED events in one insert. A dry run only
 * measures.
 */
async function reclaimBatch(
  deps: CleanupDeps,
  batch: Asset[],
  expected: AssetStatus,
  dryRun: boolean,
  now: Date,
  on: { done: (asset: Asset, bytes: number) => void; failed: (asset: Asset, error: Error) => void },
): Promise<void> {
  let claimed = batch;
  if (!dryRun) {
    const ids = batch.map((a) => a.id);
    const rows = await deps.db.$queryRaw<Array<{ id: string }>>`
      UPDATE "Asset" SET "status" = 'DELETED', "deletedAt" = ${now}, "updatedAt" = ${now}
      WHERE "id" = ANY(${ids}::uuid[]) AND "status" = ${expected}::"AssetStatus"
      RETURNING "id"`;
    const won = new Set(rows.map((r) => r.id));
    claimed = batch.filter((a) => won.has(a.id));
  }
  await mapConcurrently(claimed, STORAGE_CONCURRENCY, async (asset) => {
    try {
      const bytes = await measure(deps, asset);
      if (!dryRun) await removeObjects(deps, asset);
      on.done(asset, bytes);
    } catch (error) {
      on.failed(asset, error as Error);
    }
  });
  if (!dryRun && claimed.length > 0) {
    await trackMany(
      deps,
      claimed.map((asset) => ({
        type: "DELETED" as const,
        assetId: asset.id,
        userId: asset.ownerId,
        mime: asset.detectedMime ?? asset.declaredMime,
        size: asset.size,
        reason: `cleanup:${expected.toLowerCase()}`,
        at: now,
      })),
    );
  }
}

function objectKeys(asset: Asset): string[] {
  return [keyOf(asset), ...(asset.thumbnailKey ? [asset.thumbnailKey] : [])];
}

/** Bytes the asset occupies: its objects, and the parts of an unfinished multipart upload. */
async function measure(deps: CleanupDeps, asset: Asset): Promise<number> {
  const sizes = await Promise.all(objectKeys(asset).map(async (key) => (await deps.storage.head(key))?.size ?? 0));
  const parts =
    asset.uploadId && asset.status === "PENDING_UPLOAD"
      ? await deps.storage.listParts(asset.storageKey, asset.uploadId).catch(() => [])
      : [];
  return [...sizes, ...parts.map((p) => p.size)].reduce((a, b) => a + b, 0);
}

async function removeObjects(deps: CleanupDeps, asset: Asset): Promise<void> {
  if (asset.uploadId && asset.status === "PENDING_UPLOAD") await deps.storage.abortMultipart(asset.storageKey, asset.uploadId);
  for (const key of objectKeys(asset)) await deps.storage.delete(key);
}

/**
 * Objects under uploads/ or quarantine/ whose asset is gone or DELETED (an object written after its
 * upload was abandoned, a delete that failed earlier), older than the abandoned age so an upload in
 * flight is never touched.
 */
async function sweepOrphans(
  deps: CleanupDeps,
  dryRun: boolean,
  olderThan: Date,
  note: (category: CleanupCategory, key: string, bytes: number) => void,
  report: CleanupReport,
) {
  for (const prefix of [SIGNABLE_PREFIX, QUARANTINE_PREFIX]) {
    let cursor: string | undefined;
    do {
      const page = await deps.storage.list(prefix, { cursor, limit: 1000 });
      cursor = page.cursor;
      const candidates = page.items.filter((item) => item.lastModified < olderThan);
      const ids = candidates.map((item) => assetIdOf(item.key)).filter((id): id is string => id !== null);
      // An object is live only at its asset's current key (or that key's quarantine twin): bytes
      // written to an old key, e.g. a stale PUT URL replayed after confirm moved the object, are orphans.
      const liveKeys = new Set(
        (await deps.db.asset.findMany({ where: { id: { in: ids }, status: { not: "DELETED" } }, select: { storageKey: true } })).flatMap(
          (a) => [a.storageKey, quarantineKey(a.storageKey)],
        ),
      );
      for (const item of candidates) {
        if (liveKeys.has(item.key)) continue;
        try {
          if (!dryRun) await deps.storage.delete(item.key);
          note("orphans", item.key, item.size);
        } catch (error) {
          report.errors.push({ category: "orphans", key: item.key, message: (error as Error).message });
        }
      }
    } while (cursor);
  }
}

/**
 * Unfinished multipart uploads under uploads/ that no pending asset is bound to, older than the
 * abandoned age: a client can start several for one asset before the API learns the one it uses
 * (the uploadId reaches the API with the first part it signs), and only that one is aborted with
 * the asset. Their parts' bytes are counted as orphan bytes. The bound upload of a PENDING_UPLOAD
 * asset is left to the abandoned category.
 */
async function sweepOrphanMultipartUploads(
  deps: CleanupDeps,
  dryRun: boolean,
  olderThan: Date,
  note: (category: CleanupCategory, key: string, bytes: number) => void,
  report: CleanupReport,
) {
  let cursor: string | undefined;
  do {
    const page = await deps.storage.listMultipartUploads(SIGNABLE_PREFIX, { cursor, limit: 1000 });
    cursor = page.cursor;
    const candidates = page.items.filter((upload) => upload.initiated < olderThan);
    const ids = candidates.map((upload) => assetIdOf(upload.key)).filter((id): id is string => id !== null);
    const bound = new Set(
      (
        await deps.db.asset.findMany({
          where: { id: { in: ids }, status: "PENDING_UPLOAD", uploadId: { not: null } },
          select: { storageKey: true, uploadId: true },
        })
      ).map((a) => `${a.storageKey}\n${a.uploadId}`),
    );
    await mapConcurrently(candidates, STORAGE_CONCURRENCY, async (upload) => {
      if (bound.has(`${upload.key}\n${upload.uploadId}`)) return;
      const label = `${upload.key} (multipart upload ${upload.uploadId})`;
      try {
        const parts = await deps.storage.listParts(upload.key, upload.uploadId);
        if (!dryRun) await deps.storage.abortMultipart(upload.key, upload.uploadId);
        note(
          "orphans",
          label,
          parts.reduce((sum, part) => sum + part.size, 0),
        );
      } catch (error) {
        report.errors.push({ category: "orphans", key: label, message: (error as Error).message });
      }
    });
  } while (cursor);
}

/** `uploads/{ownerId}/{assetId}/{name}` → assetId (null when the key has another shape). */
function assetIdOf(key: string): string | null {
  const id = key.split("/")[2] ?? "";
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) ? id : null;
}
