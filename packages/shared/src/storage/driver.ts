import type { Readable } from "node:stream";

/**
 * One storage call a client may make directly, once signed. The server decides the key and the limits;
 * the client only chooses when to send the bytes.
 */
export type SignedOperation =
  /** Single-request upload of the whole object; at most `maxBytes`. */
  | { op: "putObject"; key: string; contentType: string; maxBytes: number }
  /**
   * Starts a multipart upload; the answer (S3's XML) carries the uploadId. `partBytes`, the size of every
   * part but the last, lets the local driver assemble the object in place (S3 ignores it).
   */
  | { op: "createMultipart"; key: string; contentType: string; partBytes?: number }
  /** One part, 1 ≤ partNumber ≤ 10,000; at most `maxBytes`. */
  | { op: "uploadPart"; key: string; uploadId: string; partNumber: number; maxBytes: number }
  | { op: "listParts"; key: string; uploadId: string }
  | { op: "completeMultipart"; key: string; uploadId: string }
  | { op: "abortMultipart"; key: string; uploadId: string }
  /** Download as an attachment under `filename`. */
  | { op: "getObject"; key: string; filename: string; contentType: string };

export type SignedOperationName = SignedOperation["op"];

export interface SignedRequest {
  method: "GET" | "PUT" | "POST" | "DELETE";
  url: string;
  /** Headers the client must send exactly (they are part of the signature). */
  headers: Record<string, string>;
  expiresAt: Date;
}

export interface ObjectInfo {
  size: number;
  etag?: string;
  contentType?: string;
  lastModified?: Date;
}

/** An unfinished multipart upload. */
export interface MultipartUploadInfo {
  key: string;
  uploadId: string;
  initiated: Date;
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
  size: number;
}

/**
 * What Airlock needs from a store. Two implementations: `s3` (any S3-compatible service) and `local`
 * (files under DATA_DIR, with the API answering the same signed calls under /storage). Keys are always
 * server-made (`uploads/{ownerId}/{assetId}/{safeName}`, `quarantine/...`, `thumbnails/...`).
 */
export interface StorageDriver {
  readonly name: "s3" | "local";
  /** Signs exactly one call; refuses keys outside `uploads/` (quarantine is never signed). */
  sign(operation: SignedOperation, ttlSeconds: number): Promise<SignedRequest>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Bytes [start, end] inclusive, clipped to the object; for magic-byte sniffing. */
  readRange(key: string, start: number, end: number): Promise<Buffer>;
  /** The whole object as a stream (scanning, hashing, thumbnails): never buffered whole. */
  read(key: string): Promise<Readable>;
  /** Writes an object server-side (thumbnails, tests). */
  write(key: string, body: Buffer | Readable, contentType: string): Promise<void>;
  /** Idempotent: deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Copy then delete, verified by size; used to quarantine. */
  move(from: string, to: string): Promise<void>;
  listParts(key: string, uploadId: string): Promise<UploadedPart[]>;
  /** Idempotent: aborting an unknown upload is not an error. */
  abortMultipart(key: string, uploadId: string): Promise<void>;
  /**
   * Unfinished multipart uploads of keys under a prefix, page by page: a client may start several for
   * one asset before the API learns which one it uses, and the orphan sweep aborts the others.
   */
  listMultipartUploads(
    prefix: string,
    options?: { cursor?: string; limit?: number },
  ): Promise<{ items: MultipartUploadInfo[]; cursor?: string }>;
  /** Keys under a prefix with their sizes and times, page by page (orphan sweeps). */
  list(
    prefix: string,
    options?: { cursor?: string; limit?: number },
  ): Promise<{ items: Array<{ key: string; size: number; lastModified: Date }>; cursor?: string }>;
  /** Reachability for /readyz. */
  health(): Promise<void>;
}

/** Only these prefixes are ever signed for clients. */
export const SIGNABLE_PREFIX = "uploads/";
export const QUARANTINE_PREFIX = "quarantine/";
export const THUMBNAIL_PREFIX = "thumbnails/";

export function assertSignableKey(key: string): void {
  if (!key.startsWith(SIGNABLE_PREFIX) || key.split("/").some((segment) => segment === "" || segment === "." || segment === "..")) {
    throw new Error(`refusing to sign a URL for key outside ${SIGNABLE_PREFIX}: ${key}`);
  }
}

/** The object key of an asset; the server builds it, never the client. */
export function uploadKey(ownerId: string, assetId: string, safeName: string): string {
  return `${SIGNABLE_PREFIX}${ownerId}/${assetId}/${safeName}`;
}

/**
 * Where a single-PUT upload's object lives once confirmed. Moving it there at confirm means a signed
 * PUT URL that has not expired yet can no longer replace the bytes that are checked and scanned (a
 * completed multipart upload cannot be re-targeted, so multipart objects stay where they are).
 */
export function confirmedKey(storageKey: string): string {
  const slash = storageKey.lastIndexOf("/");
  return `${storageKey.slice(0, slash)}/confirmed${storageKey.slice(slash)}`;
}

export function quarantineKey(storageKey: string): string {
  return `${QUARANTINE_PREFIX}${storageKey.slice(SIGNABLE_PREFIX.length)}`;
}
