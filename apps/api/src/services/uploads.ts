import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
import { type Asset, type AssetStatus, orNullIfNotFound, type Prisma, type PrismaClient } from "@airlock/db";
import { track } from "@airlock/shared/analytics";
import type { Env } from "@airlock/shared/env";
import { AppError, type AppErrorCode } from "@airlock/shared/errors";
import type { Logger } from "@airlock/shared/logger";
import type { Queues } from "@airlock/shared/queue-client";
import { hitRateLimit } from "@airlock/shared/rate-limit";
import { redisKey } from "@airlock/shared/redis";
import { queueScan } from "@airlock/shared/scan-queue";
import type { TInitiateUpload, TListUploads, TSignUpload } from "@airlock/shared/schemas";
import { confirmedKey, quarantineKey, type SignedOperation, type StorageDriver, uploadKey } from "@airlock/shared/storage";
import { checkContent, extensionMatchesMime, sanitizeFilename } from "@airlock/shared/uploads";
import { fileTypeFromBuffer } from "file-type";
import type { Redis } from "ioredis";
import type { AuthenticatedUser } from "./api-keys.ts";
import { toAssetView } from "./asset-view.ts";

/**
 * The upload protocol of DESIGN §5: initiate → sign (one storage call at a time) → confirm. The server
 * decides keys, modes and part sizes; the client only sends bytes straight to storage.
 */
export interface UploadDeps {
  env: Env;
  db: PrismaClient;
  redis: Redis;
  storage: StorageDriver;
  queues: Queues;
  log: Logger;
}

const MAX_PARTS = 10_000;
const MiB = 1024 * 1024;
/** Bytes read for magic-byte detection (file-type's recommended sample size). */
const SNIFF_BYTES = 4100;

/** Part size: the configured one, grown (in whole MiB) when the file would need more than 10,000 parts. */
export function choosePartSize(size: number, configured: number): number {
  const minimum = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  return Math.max(configured, minimum);
}

export async function initiateUpload(deps: UploadDeps, user: AuthenticatedUser, input: TInitiateUpload) {
  const { env, db } = deps;
  const name = sanitizeFilename(input.filename);
  if (!name.ok) throw new AppError("INVALID_FILENAME", name.reason);
  if (input.size === 0) throw new AppError("FILE_EMPTY", "the file is empty");
  if (input.size > env.UPLOAD_MAX_BYTES) {
    throw new AppError("FILE_TOO_LARGE", `the file is ${input.size} bytes; the limit is ${env.UPLOAD_MAX_BYTES} bytes`, {
      details: { limit: env.UPLOAD_MAX_BYTES },
    });
  }
  const mime = input.mimeType.toLowerCase();
  if (!env.UPLOAD_ALLOWED_MIME.includes(mime)) {
    throw new AppError("MIME_NOT_ALLOWED", `files of type ${mime} are not accepted`, { details: { allowed: env.UPLOAD_ALLOWED_MIME } });
  }
  if (!extensionMatchesMime(name.extension, mime)) {
    throw new AppError("MIME_MISMATCH", `the extension ${name.extension ? `.${name.extension}` : "(none)"} does not fit the type ${mime}`);
  }

  const limit = await hitRateLimit(
    deps.redis,
    redisKey(env.REDIS_PREFIX, "ratelimit", "initiate", user.id),
    env.UPLOAD_RATE_LIMIT_PER_MINUTE,
    60,
  ).catch((error: unknown) => {
    throw new AppError("SERVICE_UNAVAILABLE", "uploads are briefly unavailable, retry shortly", { cause: error });
  });
  if (!limit.allowed) {
    throw new AppError("RATE_LIMITED", `too many uploads started; retry in ${limit.retryAfterSeconds} s`, {
      details: { retryAfterSeconds: limit.retryAfterSeconds },
    });
  }
  const pending = await db.asset.count({ where: { ownerId: user.id, status: "PENDING_UPLOAD" } });
  if (pending >= env.UPLOAD_MAX_PENDING_PER_USER) {
    throw new AppError("QUOTA_EXCEEDED", `you have ${pending} unfinished uploads; finish or delete some first`, {
      details: { limit: env.UPLOAD_MAX_PENDING_PER_USER },
    });
  }

  const multipart = input.size > env.MULTIPART_THRESHOLD_BYTES;
  const partSize = multipart ? choosePartSize(input.size, env.MULTIPART_PART_SIZE_BYTES) : null;
  const id = crypto.randomUUID();
  const asset = await db.asset.create({
    data: {
      id,
      ownerId: user.id,
      originalName: input.filename.slice(0, 1024),
      safeName: name.safeName,
      storageKey: uploadKey(user.id, id, name.safeName),
      declaredMime: mime,
      declaredSize: BigInt(input.size),
      declaredSha256: input.sha256 ?? null,
      mode: multipart ? "MULTIPART" : "SINGLE",
      partSize,
    },
  });
  await track(deps, { type: "INITIATED", assetId: asset.id, userId: user.id, mime, size: input.size });
  return {
    assetId: asset.id,
    key: asset.storageKey,
    mode: multipart ? ("multipart" as const) : ("single" as const),
    partSize,
    partCount: partSize ? Math.ceil(input.size / partSize) : 1,
    expiresAt: new Date(Date.now() + env.SIGNED_URL_TTL_SECONDS * 1000),
  };
}

/** The caller's asset, or NOT_FOUND — also when it belongs to someone else (existence is not revealed). */
export async function findOwnAsset(
  db: PrismaClient,
  user: AuthenticatedUser,
  assetId: string,
  options: { adminSees?: boolean } = {},
): Promise<Asset> {
  const asset = await db.asset.findUnique({ where: { id: assetId } });
  const visible = asset && (asset.ownerId === user.id || (options.adminSees && user.role === "ADMIN"));
  if (!visible) throw new AppError("NOT_FOUND", "no such upload");
  return asset;
}

export async function signUpload(deps: UploadDeps, user: AuthenticatedUser, input: TSignUpload) {
  const { env, db, storage } = deps;
  const asset = await findOwnAsset(db, user, input.assetId);
  if (asset.status !== "PENDING_UPLOAD") {
    throw new AppError("INVALID_STATE", `this upload is ${asset.status.toLowerCase()}; nothing more can be uploaded to it`);
  }
  const operation = await chooseOperation(db, asset, input);
  const signed = await storage.sign(operation, env.SIGNED_URL_TTL_SECONDS);
  return { ...signed, operation: operation.op };
}

async function chooseOperation(db: PrismaClient, asset: Asset, input: TSignUpload): Promise<SignedOperation> {
  const key = asset.storageKey;
  const declared = Number(asset.declaredSize);
  if (asset.mode === "SINGLE") {
    if (input.method === "PUT" && !input.uploadId && !input.partNumber) {
      return { op: "putObject", key, contentType: asset.declaredMime, maxBytes: declared };
    }
    throw new AppError("BAD_REQUEST", "this upload is a single PUT; only method PUT without uploadId or partNumber can be signed");
  }
  if (!input.uploadId) {
    if (input.method !== "POST")
      throw new AppError("BAD_REQUEST", "a multipart upload starts with POST (create); the other calls need its uploadId");
    if (asset.uploadId) {
      throw new AppError("INVALID_STATE", "this upload was already started; resume it with its uploadId", {
        details: { uploadId: asset.uploadId },
      });
    }
    return { op: "createMultipart", key, contentType: asset.declaredMime, ...(asset.partSize !== null && { partBytes: asset.partSize }) };
  }
  await bindUploadId(db, asset, input.uploadId);
  const uploadId = input.uploadId;
  switch (input.method) {
    case "PUT": {
      const partCount = Math.ceil(declared / (asset.partSize ?? declared));
      if (!input.partNumber || input.partNumber > partCount) {
        throw new AppError("BAD_REQUEST", `partNumber must be between 1 and ${partCount} for this file`);
      }
      return { op: "uploadPart", key, uploadId, partNumber: input.partNumber, maxBytes: asset.partSize ?? declared };
    }
    case "GET":
      return { op: "listParts", key, uploadId };
    case "POST":
      return { op: "completeMultipart", key, uploadId };
    case "DELETE":
      return { op: "abortMultipart", key, uploadId };
  }
}

/**
 * An asset has one multipart upload: the first uploadId seen is recorded (cleanup aborts it if the
 * upload is abandoned) and any other is refused.
 */
async function bindUploadId(db: PrismaClient, asset: Asset, uploadId: string): Promise<void> {
  if (asset.uploadId === uploadId) return;
  if (asset.uploadId === null) {
    const bound = await db.asset.updateMany({ where: { id: asset.id, uploadId: null }, data: { uploadId } });
    if (bound.count === 1) return;
    const current = await db.asset.findUnique({ where: { id: asset.id }, select: { uploadId: true } });
    if (current?.uploadId === uploadId) return;
  }
  throw new AppError("INVALID_STATE", "this uploadId does not belong to this upload", { details: { uploadId: asset.uploadId } });
}

export async function confirmUpload(deps: UploadDeps, user: AuthenticatedUser, assetId: string) {
  const { env, db, storage } = deps;
  const found = await findOwnAsset(db, user, assetId);
  // Idempotent: a repeated confirm answers with the current state.
  if (found.status !== "PENDING_UPLOAD") {
    if (found.status === "FAILED" || found.status === "DELETED") {
      throw new AppError(
        "INVALID_STATE",
        `this upload is ${found.status.toLowerCase()}${found.failureReason ? `: ${found.failureReason}` : ""}`,
        {
          details: { status: found.status, failureCode: found.failureCode },
        },
      );
    }
    return toAssetView(found);
  }

  const asset = await sealSinglePut(deps, found);
  const fail = (code: AppErrorCode, failureCode: string, reason: string) => failUpload(deps, asset, code, failureCode, reason);
  const info = await storage.head(asset.storageKey).catch((error: unknown) => {
    throw new AppError("SERVICE_UNAVAILABLE", "storage is unavailable, retry the confirmation shortly", { cause: error });
  });
  if (!info) return fail("OBJECT_MISSING", "object_missing", "no file was uploaded for this upload");
  const declared = Number(asset.declaredSize);
  if (info.size > env.UPLOAD_MAX_BYTES)
    return fail("FILE_TOO_LARGE", "too_large", `the stored file is ${info.size} bytes; the limit is ${env.UPLOAD_MAX_BYTES}`);
  if (info.size !== declared) {
    return fail("SIZE_MISMATCH", "size_mismatch", `the stored file is ${info.size} bytes but ${declared} were declared`);
  }

  const head = await storage.readRange(asset.storageKey, 0, SNIFF_BYTES - 1);
  const detected = await fileTypeFromBuffer(head);
  const extension = asset.safeName.includes(".") ? (asset.safeName.split(".").pop() ?? "") : "";
  const verdict = checkContent({ declaredMime: asset.declaredMime, extension, detected, head, allowedMime: env.UPLOAD_ALLOWED_MIME });
  if (!verdict.ok) return fail(verdict.code, verdict.code.toLowerCase(), verdict.reason);

  let sha256: string | null = null;
  if (asset.declaredSha256) {
    sha256 = await hashObject(storage, asset.storageKey);
    if (sha256 !== asset.declaredSha256)
      return fail("CHECKSUM_MISMATCH", "checksum_mismatch", "the stored file's sha256 differs from the declared one");
  }

  // The durable transition comes first: if Redis is down right after, the reconciler still finds the
  // asset in UPLOADED and queues its scan, so nothing stays unscanned. One guarded UPDATE … RETURNING.
  const confirmed = await orNullIfNotFound(
    db.asset.update({
      where: { id: asset.id, status: "PENDING_UPLOAD" },
      data: {
        status: "UPLOADED",
        storageKey: asset.storageKey,
        size: BigInt(info.size),
        detectedMime: verdict.detectedMime,
        sha256,
        confirmedAt: new Date(),
      },
    }),
  );
  // A concurrent confirm of the same upload got there first: answer with what it made.
  if (!confirmed) return toAssetView(await db.asset.findUniqueOrThrow({ where: { id: asset.id } }));
  await track(deps, {
    type: "CONFIRMED",
    assetId: asset.id,
    userId: asset.ownerId,
    mime: verdict.detectedMime,
    size: info.size,
  });
  await enqueueScan(deps, asset.id);
  return toAssetView(confirmed);
}

/**
 * Moves a single-PUT object to its confirmed key before anything reads it, so every check and the
 * scan see bytes no outstanding PUT URL can replace. The row learns the new key with the status
 * change (UPLOADED or FAILED), in the same statement. Repeatable: a confirm retried after the move
 * (a crash before that statement) finds the object already there; until then the row names the
 * upload key (an upload abandoned in between leaves the sealed object to the orphan sweep).
 */
async function sealSinglePut(deps: UploadDeps, asset: Asset): Promise<Asset> {
  if (asset.mode !== "SINGLE") return asset;
  const sealed = confirmedKey(asset.storageKey);
  try {
    if (await deps.storage.head(asset.storageKey)) await deps.storage.move(asset.storageKey, sealed);
    else if (!(await deps.storage.head(sealed))) return asset; // nothing uploaded: confirm fails below
  } catch (error) {
    throw new AppError("SERVICE_UNAVAILABLE", "storage is unavailable, retry the confirmation shortly", { cause: error });
  }
  return { ...asset, storageKey: sealed };
}

export async function enqueueScan(deps: Pick<UploadDeps, "queues" | "log" | "env">, assetId: string): Promise<boolean> {
  try {
    await queueScan(deps.queues, deps.env, assetId);
    return true;
  } catch (error) {
    deps.log.warn({ assetId, err: (error as Error).message }, "could not queue the scan; the reconciler will retry");
    return false;
  }
}

async function hashObject(storage: StorageDriver, key: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(await storage.read(key), hash);
  return hash.digest("hex");
}

/** PENDING_UPLOAD → FAILED with a reason, the object removed; then the typed error for the caller. */
async function failUpload(deps: UploadDeps, asset: Asset, code: AppErrorCode, failureCode: string, reason: string): Promise<never> {
  const moved = await deps.db.asset.updateMany({
    where: { id: asset.id, status: "PENDING_UPLOAD" },
    data: { status: "FAILED", failureCode, failureReason: reason, storageKey: asset.storageKey },
  });
  if (moved.count === 1) {
    await removeStoredObjects(deps, asset);
    await track(deps, {
      type: "FAILED",
      assetId: asset.id,
      userId: asset.ownerId,
      mime: asset.declaredMime,
      reason: failureCode,
    });
  }
  throw new AppError(code, reason, { details: { status: "FAILED", failureCode } });
}

/** Best effort: a storage error here is logged and left to the cleanup job's orphan sweep. */
async function removeStoredObjects(deps: Pick<UploadDeps, "storage" | "log">, asset: Asset): Promise<void> {
  // The key the client uploaded to, and where confirm and quarantine may have moved the object since.
  const original = uploadKey(asset.ownerId, asset.id, asset.safeName);
  const keys = [
    ...new Set([original, asset.storageKey, quarantineKey(asset.storageKey), ...(asset.thumbnailKey ? [asset.thumbnailKey] : [])]),
  ];
  const results = await Promise.allSettled([
    ...keys.map((key) => deps.storage.delete(key)),
    ...(asset.uploadId ? [deps.storage.abortMultipart(asset.storageKey, asset.uploadId)] : []),
  ]);
  for (const result of results) {
    if (result.status === "rejected") deps.log.warn({ assetId: asset.id, err: String(result.reason) }, "could not remove a stored object");
  }
}

export async function deleteUpload(deps: UploadDeps, user: AuthenticatedUser, assetId: string) {
  const asset = await findOwnAsset(deps.db, user, assetId, { adminSees: true });
  if (asset.status === "DELETED") return toAssetView(asset);
  const moved = await deps.db.asset.updateMany({
    where: { id: asset.id, status: asset.status },
    data: { status: "DELETED", deletedAt: new Date() },
  });
  if (moved.count === 0) throw new AppError("INVALID_STATE", "the upload changed while deleting it; retry");
  await removeStoredObjects(deps, asset);
  await track(deps, {
    type: "DELETED",
    assetId: asset.id,
    userId: asset.ownerId,
    mime: asset.detectedMime ?? asset.declaredMime,
    size: asset.size,
  });
  deps.log.info({ assetId: asset.id, by: user.id }, "upload deleted");
  return toAssetView(await deps.db.asset.findUniqueOrThrow({ where: { id: asset.id } }));
}

/** A short-lived attachment URL; only for CLEAN assets — nothing unscanned is ever served. */
export async function downloadUrl(deps: UploadDeps, user: AuthenticatedUser, assetId: string) {
  const asset = await findOwnAsset(deps.db, user, assetId, { adminSees: true });
  if (asset.status !== "CLEAN") {
    throw new AppError("INVALID_STATE", `only clean files can be downloaded; this one is ${asset.status.toLowerCase()}`, {
      details: { status: asset.status },
    });
  }
  const signed = await deps.storage.sign(
    { op: "getObject", key: asset.storageKey, filename: asset.safeName, contentType: asset.detectedMime ?? asset.declaredMime },
    deps.env.DOWNLOAD_URL_TTL_SECONDS,
  );
  return { url: signed.url, expiresAt: signed.expiresAt };
}

export async function listUploads(db: PrismaClient, user: AuthenticatedUser, input: TListUploads) {
  const limit = input.limit ?? 50;
  const isAdmin = user.role === "ADMIN";
  if (input.ownerId && !isAdmin && input.ownerId !== user.id)
    throw new AppError("FORBIDDEN", "only administrators can list other users' uploads");
  const where: Prisma.AssetWhereInput = {
    ownerId: isAdmin ? input.ownerId : user.id,
    status: input.status as AssetStatus | undefined,
    ...(input.mime ? { OR: [{ detectedMime: input.mime }, { declaredMime: input.mime }] } : {}),
    createdAt: { gte: input.from, lte: input.to },
  };
  const cursor = input.cursor ? decodeCursor(input.cursor) : undefined;
  const rows = await db.asset.findMany({
    where: cursor
      ? { AND: [where, { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] }] }
      : where,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(toAssetView), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

function encodeCursor(asset: Asset): string {
  return Buffer.from(`${asset.createdAt.toISOString()}|${asset.id}`).toString("base64url");
}
function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, "base64url").toString().split("|");
  const createdAt = new Date(at ?? "");
  if (!id || Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/.test(id)) throw new AppError("BAD_REQUEST", "invalid cursor");
  return { createdAt, id };
}
