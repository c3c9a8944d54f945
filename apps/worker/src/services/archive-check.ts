import type { Asset } from "@airlock/db";
import { archiveLimitExceeded, readZipDirectory, type ScanMeta, type ScanVerdict } from "@airlock/shared/scanner";
import type { WorkerContext } from "../context.ts";

/** The name the check's verdicts carry (ScanResult.engine). */
export const ARCHIVE_CHECK_ENGINE = "archive-limits";

/**
 * A ZIP that expands past what the engine scans in full (or at a bomb's ratio) is unscannable before
 * any engine runs: reads the object's central directory only (packages/shared/src/scanner/archive-limits.ts).
 * Every object is checked, not only those typed as ZIP: a ZIP hides behind an executable's bytes as
 * easily as behind a docx. A storage error throws, and the scan is retried like any engine error.
 */
export async function checkArchiveLimits(
  ctx: Pick<WorkerContext, "storage" | "env">,
  asset: Asset,
  meta: ScanMeta,
): Promise<ScanVerdict | null> {
  const directory = await readZipDirectory(meta.size, (start, end) => ctx.storage.readRange(asset.storageKey, start, end));
  if (!directory) return null;
  const reason = archiveLimitExceeded(directory, meta.size, {
    maxEntries: ctx.env.ARCHIVE_MAX_ENTRIES,
    maxEntryBytes: ctx.env.ARCHIVE_MAX_ENTRY_BYTES,
    maxExpandedBytes: ctx.env.ARCHIVE_MAX_EXPANDED_BYTES,
    maxRatio: ctx.env.ARCHIVE_MAX_RATIO,
  });
  return reason ? { kind: "unscannable", engine: ARCHIVE_CHECK_ENGINE, reason, raw: directory } : null;
}
