import type { Asset } from "@airlock/db";

/** What clients see of an asset: JSON-safe (sizes as numbers), no storage internals beyond the key. */
export function toAssetView(asset: Asset) {
  return {
    id: asset.id,
    ownerId: asset.ownerId,
    originalName: asset.originalName,
    safeName: asset.safeName,
    key: asset.storageKey,
    declaredMime: asset.declaredMime,
    detectedMime: asset.detectedMime,
    declaredSize: Number(asset.declaredSize),
    size: asset.size == null ? null : Number(asset.size),
    sha256: asset.sha256,
    mode: asset.mode === "MULTIPART" ? ("multipart" as const) : ("single" as const),
    partSize: asset.partSize,
    /** The multipart upload to resume (list its parts, send the missing ones). */
    uploadId: asset.status === "PENDING_UPLOAD" ? asset.uploadId : null,
    status: asset.status,
    failureCode: asset.failureCode,
    failureReason: asset.failureReason,
    threats: asset.threats,
    scanDurationMs: asset.scanDurationMs,
    hasThumbnail: asset.thumbnailKey != null,
    createdAt: asset.createdAt,
    confirmedAt: asset.confirmedAt,
    scannedAt: asset.scannedAt,
    quarantinedAt: asset.quarantinedAt,
    deletedAt: asset.deletedAt,
  };
}

export type AssetView = ReturnType<typeof toAssetView>;
