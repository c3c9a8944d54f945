import { createHash, type Hash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { constants, createWriteStream, type Dirent, open as openCallback } from "node:fs";
import {
  copyFile,
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  rmdir,
  stat,
  symlink,
  unlink,
} from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import {
  assertSignableKey,
  type MultipartUploadInfo,
  type ObjectInfo,
  type SignedOperation,
  type SignedRequest,
  type StorageDriver,
  type UploadedPart,
} from "./driver.ts";
import { LazyFolder } from "./lazy-folder.ts";
import { Leases } from "./local-leases.ts";
import {
  encodeKeyPath,
  invalidKeyReason,
  LOCAL_MAX_TTL_SECONDS,
  OPERATION_METHOD,
  signLocalUrl,
  UPLOAD_ID_PATTERN,
} from "./local-signing.ts";

/**
 * The embedded storage driver: objects are plain files under `dataDir`, and the API answers the same
 * signed calls S3 would under `/storage` (see local-server.ts). This file owns the disk layout:
 *
 *   objects/<key>                          one file per object, the key's segments as directories
 *   multipart/<uploadId>/meta              JSON { key, contentType, createdAt, partBytes? }
 *   multipart/<uploadId>/data              (uploads with partBytes) the object being assembled: part n's
 *                                          bytes at (n − 1) × partBytes
 *   multipart/<uploadId>/<partNumber>.slot (same) a symlink whose target `<etag>.<offset>.<size>` records a
 *                                          part written into data
 *   multipart/<uploadId>/<partNumber>.part (uploads without partBytes) a part's bytes, then a trailer with
 *                                          its ETag (PART_TRAILER_BYTES)
 *   leases/                                who writes or completes which upload now (local-leases.ts)
 *   tmp/                                   bytes in flight; renamed into place only when complete and fsynced
 *
 * Uploads that declare their part size (the API always does) are assembled in place: each byte is written
 * and fsynced once, and completion is a truncate and a rename. Copying parts into the object at completion
 * wrote every byte twice, which capped multipart at half the disk's speed (bench/README.md). Writing in place
 * needs what separate part files got for free: a part is written by one request at a time, and never once a
 * completion has started (else a late or replayed request could change an object after it was scanned).
 * Leases give both, across processes. (Parts stored before the trailer existed are `<partNumber>` with the
 * ETag in `<partNumber>.etag`; they are still listed and completed, and a `.part` supersedes them.)
 *
 * Invariants: a file under objects/ or a part file under multipart/ is always complete and durable (it got
 * there by rename after fsync); a `.slot` record exists only while its bytes in data are durable and nobody
 * is overwriting them; every path is derived from a validated key or upload id and checked to stay inside
 * its root. tmp/ is on the same filesystem as the rest (it is inside dataDir), so renames are atomic.
 *
 * ETags are opaque, as S3 documents them (an S3 ETag is an MD5 only for some objects: not with SSE-KMS, not
 * for multipart uploads): 32 hex digits, random for every stored version, or the MD5 the client sent as
 * Content-MD5 (then verified). Hashing every byte only to answer an MD5 cost more CPU than receiving it
 * (bench/README.md). Content integrity is the API's check at confirm (the client's optional sha256).
 */

/** S3's smallest part, except for the last one; enforced at completion like S3 does, so code that works here works on S3. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** Names of part files (a decimal part number, then `.part`). */
const PART_FILE = /^([1-9][0-9]{0,4})\.part$/;
/** Parts of the earlier layout: the bare number, with the ETag in a `<n>.etag` sidecar. */
const LEGACY_PART_FILE = /^([1-9][0-9]{0,4})$/;
/** Records of parts written in place: `<partNumber>.slot` → `<etag>.<offset>.<size>`. */
const SLOT_RECORD = /^([1-9][0-9]{0,4})\.slot$/;
const SLOT_TARGET = /^([0-9a-f]{32})\.(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})$/;
/** How long a part waits for an earlier request of the same part (a retry racing its original) to end. */
const PART_LEASE_WAIT_MS = 5_000;
/** How long a completion waits for parts still being written. */
const COMPLETE_WAIT_MS = 10_000;
/**
 * A part file ends with `airlock-part-etag <32 hex>\n`: the ETag travels with the bytes, fsynced and renamed
 * into place with them, so a part costs one file (and one fsync) instead of two.
 */
const PART_TRAILER = /^airlock-part-etag ([0-9a-f]{32})\n$/;
const PART_TRAILER_BYTES = "airlock-part-etag \n".length + 32;
/** Copy buffers of completions, reused: fresh memory costs a page fault per 4 KiB on first touch. */
const COPY_BUFFER_BYTES = 1024 * 1024;
const copyBuffers: Buffer[] = [];

/** Errors with S3's codes, so local-server.ts can answer exactly what S3 would. */
export type LocalStorageErrorCode =
  /** The object does not exist. */
  | "NoSuchKey"
  /** The upload id is unknown, was aborted or completed, or belongs to another key. */
  | "NoSuchUpload"
  /** More bytes arrived than the signed limit allows. */
  | "EntityTooLarge"
  /** A part other than the last is under 5 MiB. */
  | "EntityTooSmall"
  /** A listed part is missing or its ETag differs from the stored one. */
  | "InvalidPart"
  /** The body's MD5 differs from the Content-MD5 the client sent. */
  | "BadDigest"
  /** Parts are not listed in strictly ascending order. */
  | "InvalidPartOrder"
  /** The key cannot name a path (server bug: keys are server-made). */
  | "InvalidKey"
  /**
   * Another request is writing the same part, or the upload is being completed: retry shortly. S3's code
   * for "slow down", answered 503 like S3 does, which is what clients (Uppy included) retry by themselves.
   */
  | "SlowDown";

export class LocalStorageError extends Error {
  constructor(
    readonly code: LocalStorageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "LocalStorageError";
  }
}

export interface LocalStorageOptions {
  /** Root of everything this driver stores. */
  dataDir: string;
  /** Public origin of the API; signed URLs point at `${publicUrl}/storage/...`. */
  publicUrl: string;
  /** HMAC key of the signed URLs (at least 32 characters). */
  secret: string;
}

/** What a streamed upload produced. */
export interface ReceivedBody {
  /** The stored version's ETag: 32 lowercase hex digits, unquoted (see the file header). */
  etag: string;
  size: number;
}

export interface ReceiveOptions {
  /**
   * The MD5 the client declared (Content-MD5), as 32 lowercase hex digits: the body is hashed and refused
   * with BadDigest when it differs, and the ETag is this MD5 (as on S3). Without it nothing is hashed.
   */
  contentMd5?: string;
}

export interface LocalUploadedPart extends UploadedPart {
  lastModified: Date;
}

/**
 * Where a listed part's bytes are: at `offset` of the upload's data file, or in a `.part` file (bytes +
 * trailer), or in the earlier layout's bare file.
 */
type StoredPart = LocalUploadedPart & ({ kind: "slot"; offset: number } | { kind: "file"; path: string; legacy: boolean });
type FilePart = Extract<StoredPart, { kind: "file" }>;

export interface MultipartMeta {
  key: string;
  contentType: string;
  createdAt: string;
  /** The largest part the upload takes; present when parts are written in place (see the file header). */
  partBytes?: number;
}

export class LocalStorageDriver implements StorageDriver {
  readonly name = "local" as const;
  readonly dataDir: string;
  readonly publicUrl: string;
  private readonly secret: string;
  private readonly objectsDir: string;
  private readonly multipartDir: string;
  private readonly tmpDir: string;
  /** tmp/, made on first use. */
  private readonly temp: LazyFolder;
  private readonly leases: Leases;

  constructor(options: LocalStorageOptions) {
    this.dataDir = resolve(options.dataDir);
    this.publicUrl = options.publicUrl.replace(/\/+$/, "");
    this.secret = options.secret;
    this.objectsDir = join(this.dataDir, "objects");
    this.multipartDir = join(this.dataDir, "multipart");
    this.tmpDir = join(this.dataDir, "tmp");
    this.temp = new LazyFolder(this.tmpDir);
    this.leases = new Leases(join(this.dataDir, "leases"));
  }

  async sign(operation: SignedOperation, ttlSeconds: number): Promise<SignedRequest> {
    assertSignableKey(operation.key);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > LOCAL_MAX_TTL_SECONDS) {
      throw new Error(`ttlSeconds must be an integer in 1..${LOCAL_MAX_TTL_SECONDS}`);
    }
    const now = new Date();
    // Whole seconds, so the returned expiresAt is exactly the instant the URL stops working.
    const expiresAt = new Date((Math.floor(now.getTime() / 1000) + ttlSeconds) * 1000);
    const method = OPERATION_METHOD[operation.op];
    const url = signLocalUrl({ baseUrl: this.publicUrl, secret: this.secret, method, operation, expiresAt, now });
    // Same contract as the s3 driver: the client must send the signed content type (the server checks it).
    const headers: Record<string, string> =
      operation.op === "putObject" || operation.op === "createMultipart" ? { "content-type": operation.contentType } : {};
    return { method, url, headers, expiresAt };
  }

  /** Where `${publicUrl}/storage/<key>` points (S3's `Location`); unsigned, so it grants nothing. */
  objectUrl(key: string): string {
    return `${this.publicUrl}/storage/${encodeKeyPath(key)}`;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const path = this.objectPath(key);
    try {
      const info = await stat(path);
      // No sidecar metadata for whole objects: etag and contentType stay unknown (the API keeps them).
      return info.isFile() ? { size: info.size, lastModified: info.mtime } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async readRange(key: string, start: number, end: number): Promise<Buffer> {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
      throw new RangeError(`invalid range ${start}-${end}`);
    }
    const handle = await this.openObjectFile(key);
    try {
      const { size } = await handle.stat();
      if (start >= size) return Buffer.alloc(0);
      const length = Math.min(end, size - 1) - start + 1;
      const buffer = Buffer.alloc(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, start + filled);
        if (bytesRead === 0) break; // truncated under us: return what exists
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  }

  async read(key: string): Promise<Readable> {
    // Opening first makes a missing object fail here, not later as a stream error nobody awaits.
    const handle = await this.openObjectFile(key);
    return handle.createReadStream({ highWaterMark: 1024 * 1024 });
  }

  /** An open object with its size, for serving downloads; null when missing. */
  async openForDownload(key: string): Promise<{ stream: Readable; size: number; lastModified: Date } | null> {
    let handle: FileHandle;
    try {
      handle = await this.openObjectFile(key);
    } catch (error) {
      if (error instanceof LocalStorageError && error.code === "NoSuchKey") return null;
      throw error;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) {
        await handle.close();
        return null;
      }
      return { stream: handle.createReadStream({ highWaterMark: 1024 * 1024 }), size: info.size, lastModified: info.mtime };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Server-side write (thumbnails, tests). contentType is not stored: objects carry no metadata here. */
  async write(key: string, body: Buffer | Readable, _contentType: string): Promise<void> {
    await this.putObjectStream(key, Buffer.isBuffer(body) ? Readable.from([body]) : body, Number.POSITIVE_INFINITY);
  }

  async delete(key: string): Promise<void> {
    const path = this.objectPath(key);
    try {
      await unlink(path);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    await this.pruneEmptyDirs(dirname(path), this.objectsDir);
  }

  async move(from: string, to: string): Promise<void> {
    const source = this.objectPath(from);
    const target = this.objectPath(to);
    const before = await stat(source).catch((error: unknown) => {
      if (isMissing(error)) throw new LocalStorageError("NoSuchKey", `cannot move ${from}: no such object`);
      throw error;
    });
    await this.placeFile(source, target, {
      crossDevice: async () => {
        // Another filesystem mounted under objects/: copy, make it durable, then drop the source.
        await copyFile(source, target, constants.COPYFILE_EXCL);
        await fsyncPath(target);
        await unlink(source);
      },
    });
    const after = await stat(target);
    if (after.size !== before.size) throw new Error(`move of ${from} to ${to} produced ${after.size} bytes, expected ${before.size}`);
    await this.pruneEmptyDirs(dirname(source), this.objectsDir);
  }

  async listParts(key: string, uploadId: string): Promise<LocalUploadedPart[]> {
    const { dir, meta } = await this.requireUpload(key, uploadId);
    return (await this.storedParts(dir, uploadId, meta.partBytes !== undefined)).map(({ partNumber, etag, size, lastModified }) => ({
      partNumber,
      etag,
      size,
      lastModified,
    }));
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    // Idempotent: an id we could never have made, or one that is already gone, is simply done.
    if (!UPLOAD_ID_PATTERN.test(uploadId)) return;
    const dir = join(this.multipartDir, uploadId);
    const meta = await this.readMeta(uploadId);
    // Never remove another key's upload; a dir without meta is a crashed create and is removed.
    if (meta && meta.key !== key) return;
    await rm(dir, { recursive: true, force: true });
  }

  async listMultipartUploads(
    prefix: string,
    options: { cursor?: string; limit?: number } = {},
  ): Promise<{ items: MultipartUploadInfo[]; cursor?: string }> {
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError("limit must be a positive integer");
    const ids = (await readdir(this.multipartDir).catch((error: unknown) => (isMissing(error) ? [] : Promise.reject(error))))
      .filter((id) => UPLOAD_ID_PATTERN.test(id) && (options.cursor === undefined || id > options.cursor))
      .sort();
    const items: MultipartUploadInfo[] = [];
    // The cursor is the last upload id read (listed or not), so a page never reads the same meta twice.
    let last: string | undefined;
    for (const uploadId of ids) {
      if (items.length === limit) return { items, cursor: last };
      last = uploadId;
      const meta = await this.readMeta(uploadId);
      if (meta?.key.startsWith(prefix)) items.push({ key: meta.key, uploadId, initiated: new Date(meta.createdAt) });
    }
    return { items };
  }

  async list(
    prefix: string,
    options: { cursor?: string; limit?: number } = {},
  ): Promise<{ items: Array<{ key: string; size: number; lastModified: Date }>; cursor?: string }> {
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError("limit must be a positive integer");
    // The prefix's directory part must be a real path inside objects/ (its last, partial segment is only matched).
    const lastSlash = prefix.lastIndexOf("/");
    const dirKey = prefix.slice(0, lastSlash + 1);
    if (prefix.includes("\\") || prefix.includes("\0") || (dirKey && invalidKeyReason(dirKey.slice(0, -1)))) {
      throw new Error(`invalid list prefix: ${prefix}`);
    }
    const startDir = dirKey ? this.objectPath(dirKey.slice(0, -1)) : this.objectsDir;

    const items: Array<{ key: string; size: number; lastModified: Date }> = [];
    let more = false;
    for await (const { key, path } of walkSorted(startDir, dirKey, prefix, options.cursor)) {
      if (items.length === limit) {
        more = true;
        break;
      }
      const info = await stat(path).catch(() => null); // deleted since readdir: not listed
      if (info?.isFile()) items.push({ key, size: info.size, lastModified: info.mtime });
    }
    const last = items.at(-1);
    return more && last ? { items, cursor: last.key } : { items };
  }

  async health(): Promise<void> {
    for (const dir of [this.objectsDir, this.multipartDir]) await mkdir(dir, { recursive: true, mode: 0o700 });
    await this.temp.make();
    const probe = join(this.tmpDir, `health-${randomHex(8)}`);
    const handle = await open(probe, "wx");
    try {
      await handle.writeFile("ok");
      await handle.sync();
    } finally {
      await handle.close();
      await unlink(probe).catch(() => {});
    }
  }

  // ---- operations the /storage handler performs (local-server.ts) -------------------------------------

  /** Streams a whole object into place; refuses more than `maxBytes`. */
  async putObjectStream(key: string, body: Readable, maxBytes: number, options: ReceiveOptions = {}): Promise<ReceivedBody> {
    const target = this.objectPath(key);
    // The object's folder is usually new (one per asset): made while the bytes arrive, not after them.
    const folder = settled(this.makeFolder(dirname(target)));
    try {
      return await this.receive(body, maxBytes, options, (tmp) => this.placeFile(tmp, target, { folder }));
    } catch (error) {
      if ((await folder.catch(() => [])).length > 0) await this.pruneEmptyDirs(dirname(target), this.objectsDir);
      throw error;
    }
  }

  /**
   * Starts a multipart upload of `key`; returns its id (32 random hex digits). With `partBytes` (the largest
   * part it takes) the parts are written in place (see the file header); without, each part is its own file.
   */
  async createMultipart(key: string, contentType: string, options: { partBytes?: number } = {}): Promise<string> {
    this.objectPath(key); // validates the key now, not at completion
    const { partBytes } = options;
    if (partBytes !== undefined && !(Number.isSafeInteger(partBytes) && partBytes > 0))
      throw new RangeError("partBytes must be a positive integer");
    const uploadId = randomHex(16);
    const dir = join(this.multipartDir, uploadId);
    const changed = [this.multipartDir];
    try {
      await mkdir(dir, { mode: 0o700 }); // not recursive: an existing dir (a 2^-128 collision) must fail
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      changed.push(...(await this.makeFolder(this.multipartDir))); // first use
      await mkdir(dir, { mode: 0o700 });
    }
    const meta: MultipartMeta = { key, contentType, createdAt: new Date().toISOString(), ...(partBytes !== undefined && { partBytes }) };
    // Made before the meta, so an upload that has a meta and declares partBytes has its data file too.
    if (partBytes !== undefined) await (await open(join(dir, "data"), "wx")).close();
    // Written in place, not renamed in: nobody can name the upload before we answer, and a meta torn by a
    // crash reads as no upload at all (readMeta).
    const handle = await open(join(dir, "meta"), "wx");
    try {
      await handle.writeFile(JSON.stringify(meta));
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The meta's entry in the upload's folder, and the folder's in multipart/, are durable before the answer.
    await Promise.all([dir, ...changed].map(fsyncPath));
    return uploadId;
  }

  /** Streams one part; a re-upload of the same number replaces it, as on S3. */
  async uploadPartStream(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    maxBytes: number,
    options: ReceiveOptions = {},
  ): Promise<ReceivedBody> {
    const { dir, meta } = await this.requireUpload(key, uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) throw new RangeError("part number outside 1..10000");
    if (meta.partBytes !== undefined) {
      return this.uploadPartInPlace(dir, uploadId, partNumber, meta.partBytes, body, maxBytes, options);
    }
    const partPath = join(dir, `${partNumber}.part`);
    return this.receive(body, maxBytes, { ...options, trailer: true }, async (tmp) => {
      await rename(tmp, partPath).catch(uploadGone(uploadId)); // aborted (or completed) while the bytes streamed in
      await fsyncPath(dir);
    });
  }

  /** Streams one part into its place in the upload's data file; a re-upload of the same number replaces it. */
  private async uploadPartInPlace(
    dir: string,
    uploadId: string,
    partNumber: number,
    partBytes: number,
    body: Readable,
    maxBytes: number,
    options: ReceiveOptions,
  ): Promise<ReceivedBody> {
    assertContentMd5(options);
    const lease = await this.leases.acquire(`${uploadId}.${partNumber}`, PART_LEASE_WAIT_MS);
    if (!lease) throw busy(`part ${partNumber} of this upload is being uploaded by another request`);
    try {
      // Our lease is visible before we look for the completion's: see local-leases.ts for why that suffices.
      if (await this.leases.isHeld(`${uploadId}.complete`)) throw busy("this upload is being completed");
      const record = join(dir, `${partNumber}.slot`);
      // A re-sent part: its record goes first, durably, so no crash can leave it naming bytes being replaced.
      if (await unlink(record).then(() => true, ignoreMissing)) {
        await fsyncPath(dir).catch(uploadGone(uploadId));
      }
      const fd = await openFd(join(dir, "data"), "r+").catch(uploadGone(uploadId));
      const offset = (partNumber - 1) * partBytes;
      const etag = options.contentMd5 ?? randomHex(16);
      // Never past the part's own slot, whatever the URL allows: that is the next part's place.
      const meter = new MeteredBody(Math.min(maxBytes, partBytes), options.contentMd5, undefined);
      const file = createWriteStream("", { fd, start: offset, flush: true, highWaterMark: 1024 * 1024 });
      const takenOver = () => busy(`part ${partNumber} was taken over by another request`);
      lease.onLost = () => file.destroy(takenOver());
      try {
        await pipeline(body, meter, file);
      } catch (error) {
        if (!file.closed) await once(file, "close").catch(() => {});
        throw error;
      }
      // Removed as stale (another request now owns the slot): these bytes are not the part any more.
      if (!(await lease.stillHeld())) throw takenOver();
      // Missing paths here mean the upload was aborted while the bytes streamed in.
      await symlink(`${etag}.${offset}.${meter.size}`, record).catch(uploadGone(uploadId));
      await fsyncPath(dir).catch(uploadGone(uploadId));
      return { etag, size: meter.size };
    } finally {
      await lease.release();
    }
  }

  /**
   * Makes the object of the listed parts: exactly the part versions whose ETags the client holds (for
   * uploads whose parts are files: even if a part is replaced meanwhile, since parts are replaced by rename
   * and each part's ETag is read again from the very file its bytes are copied from; for in-place uploads:
   * no part can be written while a completion runs). Returns S3's multipart ETag format: MD5 of the
   * concatenated binary part ETags, then `-<count>` (S3's own value when every part came with Content-MD5).
   */
  async completeMultipart(
    key: string,
    uploadId: string,
    parts: ReadonlyArray<{ partNumber: number; etag: string }>,
  ): Promise<{ etag: string; size: number }> {
    const { dir, meta } = await this.requireUpload(key, uploadId);
    if (parts.length === 0) throw new LocalStorageError("InvalidPart", "at least one part is required");
    for (let i = 1; i < parts.length; i++) {
      if (parts[i]!.partNumber <= parts[i - 1]!.partNumber)
        throw new LocalStorageError("InvalidPartOrder", "parts must be listed in ascending order");
    }
    const size =
      meta.partBytes === undefined
        ? await this.completeFromPartFiles(key, uploadId, dir, parts)
        : await this.completeInPlace(key, uploadId, dir, parts);
    const partEtags = Buffer.concat(parts.map(({ etag }) => Buffer.from(normalizeEtag(etag), "hex")));
    return { etag: `${createHash("md5").update(partEtags).digest("hex")}-${parts.length}`, size };
  }

  /** The stored parts the client listed, checked as S3 checks them (each exists with that ETag; all but the last ≥ 5 MiB). */
  private chooseParts(
    stored: readonly StoredPart[],
    parts: ReadonlyArray<{ partNumber: number; etag: string }>,
  ): Array<{ part: StoredPart; etag: string }> {
    const byNumber = new Map(stored.map((p) => [p.partNumber, p]));
    return parts.map((wanted, index) => {
      const part = byNumber.get(wanted.partNumber);
      const etag = normalizeEtag(wanted.etag);
      if (!part || part.etag !== etag) {
        throw new LocalStorageError("InvalidPart", `part ${wanted.partNumber} is missing or its ETag does not match`);
      }
      if (index < parts.length - 1 && part.size < MIN_PART_BYTES) {
        throw new LocalStorageError(
          "EntityTooSmall",
          `part ${wanted.partNumber} is ${part.size} bytes; all but the last must be at least 5 MiB`,
        );
      }
      return { part, etag };
    });
  }

  /**
   * In place: under the upload's completion lease, once no part is being written. When the listed parts lie
   * end to end from offset 0 (every part but the last filled its slot: what the API's clients send), the
   * data file is the object once cut after the last one; otherwise their bytes are copied into a new file.
   */
  private async completeInPlace(
    key: string,
    uploadId: string,
    dir: string,
    parts: ReadonlyArray<{ partNumber: number; etag: string }>,
  ): Promise<number> {
    const lease = await this.leases.acquire(`${uploadId}.complete`, 0);
    if (!lease) throw busy("this upload is already being completed");
    try {
      const writers = await this.leases.waitUntilFree(`${uploadId}.`, `${uploadId}.complete`, COMPLETE_WAIT_MS);
      if (!writers.free) throw busy("a part of this upload is still being uploaded");
      const stored = await this.storedParts(dir, uploadId, true);
      const chosen = this.chooseParts(stored, parts);
      const slots = chosen.map(({ part }) => part as Extract<StoredPart, { kind: "slot" }>);
      const size = slots.reduce((sum, part) => sum + part.size, 0);
      // The data file becomes the object only when nothing else is in it and nobody can write into it any
      // more: the listed parts lie end to end from 0, no unlisted part is stored (S3 keeps those if the
      // completion fails), and no part lease had to be removed as stale (its holder may still be running).
      const inPlace =
        !writers.removedStale &&
        stored.length === slots.length &&
        slots.every((part, i) => part.offset === (i === 0 ? 0 : slots[i - 1]!.offset + slots[i - 1]!.size));
      const data = join(dir, "data");
      return await this.placeObject(key, uploadId, async (tmp) => {
        if (!inPlace) {
          const source = await open(data, "r");
          try {
            await this.writeTemp(tmp, async (out) => {
              let position = 0;
              for (const part of slots) position += await copyRange(source, part.offset, part.size, out, position);
            });
          } finally {
            await source.close();
          }
          return tmp;
        }
        const handle = await open(data, "r+");
        try {
          await handle.truncate(size);
          await handle.sync();
        } finally {
          await handle.close();
        }
        return data;
      }).then(() => size);
    } finally {
      await lease.release();
    }
  }

  /** Part files: the first copied by the kernel (copy_file_range), the rest through two reused buffers. */
  private async completeFromPartFiles(
    key: string,
    uploadId: string,
    dir: string,
    parts: ReadonlyArray<{ partNumber: number; etag: string }>,
  ): Promise<number> {
    const chosen = this.chooseParts(await this.storedParts(dir, uploadId, false), parts) as Array<{
      part: FilePart;
      etag: string;
    }>;
    let size = 0;
    await this.placeObject(key, uploadId, async (tmp) => {
      const [first, ...rest] = chosen as [(typeof chosen)[number], ...typeof chosen];
      let out: FileHandle | undefined;
      try {
        if (first.part.legacy) {
          out = await this.temp.run(() => open(tmp, "wx"));
          size += await copyPart(first.part, first.etag, out, 0);
        } else {
          // Its trailer, read back from the copy, proves which version was copied; then it is cut off.
          await this.temp.run(() => copyFile(first.part.path, tmp, constants.COPYFILE_EXCL));
          out = await open(tmp, "r+");
          const { size: copied } = await out.stat();
          if ((await readTrailer(out, copied)) !== first.etag) throw partChanged(first.part.partNumber);
          size = copied - PART_TRAILER_BYTES;
          await out.truncate(size);
        }
        for (const { part, etag } of rest) size += await copyPart(part, etag, out, size);
        await out.sync();
      } finally {
        await out?.close().catch(() => {});
      }
      return tmp;
    });
    return size;
  }

  /**
   * Runs `build` (given a temp path it may use; it returns the path of the finished, fsynced object), then
   * renames that into place, and removes the upload. The object's folder is made meanwhile; on failure the
   * temp file and any folder made for the object are removed.
   */
  private async placeObject(key: string, uploadId: string, build: (tmp: string) => Promise<string>): Promise<void> {
    const target = this.objectPath(key);
    const folder = settled(this.makeFolder(dirname(target)));
    const tmp = this.tempPath();
    try {
      const source = await build(tmp);
      // Re-check: an abort during the build must win over a completion that would resurrect the object.
      await this.requireUpload(key, uploadId);
      await this.placeFile(source, target, { folder });
    } catch (error) {
      await unlink(tmp).catch(() => {});
      if ((await folder.catch(() => [])).length > 0) await this.pruneEmptyDirs(dirname(target), this.objectsDir);
      if (isMissing(error)) throw noSuchUpload(uploadId); // aborted meanwhile
      throw error;
    }
    await rm(join(this.multipartDir, uploadId), { recursive: true, force: true });
  }

  /** Creates `path` in tmp/, lets `write` fill it, fsyncs and closes it. */
  private async writeTemp(path: string, write: (out: FileHandle) => Promise<void>): Promise<void> {
    const out = await this.temp.run(() => open(path, "wx"));
    try {
      await write(out);
      await out.sync();
    } finally {
      await out.close();
    }
  }

  /**
   * Removes temp files older than `olderThanMs`, and stale leases: only a crash leaves any (every failed
   * request deletes its own), so calling this at start-up or from the cleanup job is enough. Returns how
   * many were removed.
   */
  async sweepTemp(olderThanMs = 24 * 3600 * 1000): Promise<number> {
    const names = await readdir(this.tmpDir).catch((error: unknown) => {
      if (isMissing(error)) return [] as string[];
      throw error;
    });
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const name of names) {
      const path = join(this.tmpDir, name);
      const info = await stat(path).catch(() => null);
      if (info && info.mtimeMs < cutoff) {
        await unlink(path).catch(() => {});
        removed++;
      }
    }
    return removed + (await this.leases.sweep());
  }

  // ---- internals -----------------------------------------------------------------------------------------

  /**
   * Maps a key to its file. Keys are server-made; this still refuses anything that could leave objects/
   * (defence in depth), and checks the resolved path as well as the key's shape.
   */
  private objectPath(key: string): string {
    const problem = invalidKeyReason(key);
    if (problem) throw new LocalStorageError("InvalidKey", `${problem}: ${JSON.stringify(key)}`);
    const path = resolve(this.objectsDir, ...key.split("/"));
    if (!path.startsWith(this.objectsDir + sep))
      throw new LocalStorageError("InvalidKey", `key escapes the objects directory: ${JSON.stringify(key)}`);
    return path;
  }

  private async openObjectFile(key: string): Promise<FileHandle> {
    try {
      return await open(this.objectPath(key), "r");
    } catch (error) {
      if (isMissing(error) || (error as NodeJS.ErrnoException).code === "EISDIR")
        throw new LocalStorageError("NoSuchKey", `no such object: ${key}`);
      throw error;
    }
  }

  /** The upload's directory and meta, after checking it exists and belongs to `key`. */
  private async requireUpload(key: string, uploadId: string): Promise<{ dir: string; meta: MultipartMeta }> {
    const meta = await this.readMeta(uploadId);
    if (!meta || meta.key !== key) throw noSuchUpload(uploadId);
    return { dir: join(this.multipartDir, uploadId), meta };
  }

  private async readMeta(uploadId: string): Promise<MultipartMeta | null> {
    // The pattern is what keeps an upload id from being a path: check it before any join.
    if (!UPLOAD_ID_PATTERN.test(uploadId)) return null;
    try {
      const parsed: unknown = JSON.parse(await readFile(join(this.multipartDir, uploadId, "meta"), "utf8"));
      return isMultipartMeta(parsed) ? parsed : null;
    } catch (error) {
      if (isMissing(error) || error instanceof SyntaxError) return null;
      throw error;
    }
  }

  /**
   * The upload's parts, by part number: its `.slot` records when written in place; otherwise its part files,
   * where a `.part` file wins over an earlier layout's part of the same number.
   */
  private async storedParts(dir: string, uploadId: string, inPlace: boolean): Promise<StoredPart[]> {
    const names = await readdir(dir).catch((error: unknown) => {
      if (isMissing(error)) throw noSuchUpload(uploadId);
      throw error;
    });
    const current = new Set(names.filter((name) => PART_FILE.test(name)));
    const wanted = inPlace
      ? names.filter((name) => SLOT_RECORD.test(name))
      : names.filter((name) => PART_FILE.test(name) || (LEGACY_PART_FILE.test(name) && !current.has(`${name}.part`)));
    const parts: StoredPart[] = [];
    // A few at a time: an upload has up to 10,000 parts, each read costs a system call or an open file.
    await mapLimit(wanted, 16, async (name) => {
      const part = inPlace ? await readSlot(join(dir, name)) : await readPart(join(dir, name), PART_FILE.test(name));
      if (part) parts.push(part);
    });
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /**
   * The one way bytes arrive: stream into a temp file while counting (and hashing, when the client sent
   * Content-MD5), refuse as soon as the count passes `maxBytes` or the digest differs, fsync, then let
   * `commit` rename it into place. On any failure the temp file is removed, so an interrupted or refused
   * upload leaves nothing behind.
   */
  private async receive(
    body: Readable,
    maxBytes: number,
    options: ReceiveOptions & { trailer?: boolean },
    commit: (tmp: string) => Promise<void>,
  ): Promise<ReceivedBody> {
    assertContentMd5(options);
    const etag = options.contentMd5 ?? randomHex(16);
    const tmp = this.tempPath();
    const fd = await this.temp.run(() => openFd(tmp, "wx"));
    const meter = new MeteredBody(maxBytes, options.contentMd5, options.trailer ? Buffer.from(`airlock-part-etag ${etag}\n`) : undefined);
    // `flush` fsyncs before the stream closes (it owns the descriptor), and pipeline settles only after that
    // close: the bytes are durable before anyone is told they are stored. (A FileHandle stream with autoClose
    // off would let us fsync ourselves, but it keeps a reference that makes handle.close() wait forever.)
    const file = createWriteStream(tmp, { fd, flush: true, highWaterMark: 1024 * 1024 });
    try {
      await pipeline(body, meter, file);
      await commit(tmp);
      return { etag, size: meter.size };
    } catch (error) {
      if (!file.closed) await once(file, "close").catch(() => {});
      await unlink(tmp).catch(() => {});
      throw error;
    }
  }

  /**
   * Renames a complete file to `target`, in its folder made by `folder` (or now). A concurrent delete may
   * prune that folder between mkdir and rename, hence the retry. Then the folder is fsynced, so the rename
   * is durable, and so is the parent of every folder made for it, so their entries are: never a folder
   * that already existed and gained nothing else.
   */
  private async placeFile(
    source: string,
    target: string,
    options: { folder?: Promise<string[]>; crossDevice?: () => Promise<void> } = {},
  ): Promise<void> {
    const parent = dirname(target);
    const changed = new Set(await (options.folder ?? this.makeFolder(parent)));
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(source, target);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EXDEV" && options.crossDevice) {
          await options.crossDevice();
          break;
        }
        if (code === "ENOENT" && attempt < 3 && (await exists(source))) {
          for (const dir of await this.makeFolder(parent)) changed.add(dir);
          continue;
        }
        throw error;
      }
    }
    changed.add(parent);
    await Promise.all([...changed].map(fsyncPath));
  }

  /**
   * Makes `dir` and its missing parents. Returns the folders whose entries this changed (the parent of
   * each folder made), which the caller fsyncs once something durable is inside; [] when `dir` existed.
   */
  private async makeFolder(dir: string): Promise<string[]> {
    const first = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (first === undefined) return [];
    const changed: string[] = [];
    for (let made = dir; ; made = dirname(made)) {
      changed.push(dirname(made));
      if (made === first || made === dirname(made)) return changed;
    }
  }

  /** Removes now-empty directories from `dir` up to (not including) `root`; stops at the first non-empty one. */
  private async pruneEmptyDirs(dir: string, root: string): Promise<void> {
    let current = dir;
    while (current.startsWith(root + sep)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone, or being filled): either way, stop
      }
      current = dirname(current);
    }
  }

  private tempPath(): string {
    return join(this.tmpDir, `${Date.now()}-${randomHex(8)}`);
  }
}

/**
 * Counts the bytes passing through; errors with EntityTooLarge past the limit. With an expected MD5 it also
 * hashes them (on the event loop: only clients that send Content-MD5 pay for it) and errors with BadDigest
 * at the end when the digest differs, before the file is flushed and renamed anywhere. A trailer (a part's
 * ETag) is appended after the last byte; `size` counts the body only.
 */
class MeteredBody extends Transform {
  private readonly md5: Hash | undefined;
  size = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly expectedMd5: string | undefined,
    private readonly trailer: Buffer | undefined,
  ) {
    super();
    this.md5 = expectedMd5 === undefined ? undefined : createHash("md5");
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      callback(new LocalStorageError("EntityTooLarge", `body is larger than the ${this.maxBytes} bytes allowed`));
      return;
    }
    this.md5?.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.md5 && this.md5.digest("hex") !== this.expectedMd5) {
      callback(new LocalStorageError("BadDigest", "the body's MD5 differs from the Content-MD5 sent"));
      return;
    }
    callback(null, this.trailer);
  }
}

/**
 * Yields the files under `dir` in ascending key order, pruning whole subtrees that fall outside `prefix`
 * or at/before `cursor`. Entries are sorted by name, with a trailing "/" for directories: since no name
 * contains "/", that makes depth-first order equal to key order, so a page stops after `limit` files
 * instead of walking the whole tree.
 */
async function* walkSorted(
  dir: string,
  keyPrefix: string,
  prefix: string,
  cursor: string | undefined,
): AsyncGenerator<{ key: string; path: string }> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isMissing(error) || (error as NodeJS.ErrnoException).code === "ENOTDIR") return;
    throw error;
  }
  const sorted = entries
    .filter((entry) => entry.isFile() || entry.isDirectory())
    .map((entry) => ({ entry, sortKey: keyPrefix + entry.name + (entry.isDirectory() ? "/" : "") }))
    .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  for (const { entry, sortKey } of sorted) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      // Descend only if the subtree can hold keys under the prefix and after the cursor.
      if (!(sortKey.startsWith(prefix) || prefix.startsWith(sortKey))) continue;
      if (cursor !== undefined && sortKey < cursor && !cursor.startsWith(sortKey)) continue;
      yield* walkSorted(path, sortKey, prefix, cursor);
    } else {
      if (!sortKey.startsWith(prefix)) continue;
      if (cursor !== undefined && sortKey <= cursor) continue;
      if (invalidKeyReason(sortKey)) continue; // a stray file no key can name
      yield { key: sortKey, path };
    }
  }
}

function isMultipartMeta(value: unknown): value is MultipartMeta {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.key === "string" && typeof v.contentType === "string" && typeof v.createdAt === "string";
}

/** Clients send ETags quoted, unquoted or XML-escaped (`&quot;`); compare the bare hex. */
export function normalizeEtag(etag: string): string {
  return etag
    .trim()
    .replace(/^(?:"|&quot;|&#34;)+|(?:"|&quot;|&#34;)+$/g, "")
    .toLowerCase();
}

function assertContentMd5(options: ReceiveOptions): void {
  if (options.contentMd5 !== undefined && !/^[0-9a-f]{32}$/.test(options.contentMd5)) {
    throw new RangeError("contentMd5 must be 32 lowercase hex digits");
  }
}

/** For `.catch`: a path of the upload gone under us means it was aborted (or completed) meanwhile. */
function uploadGone(uploadId: string): (error: unknown) => never {
  return (error) => {
    throw isMissing(error) ? noSuchUpload(uploadId) : error;
  };
}

function busy(message: string): LocalStorageError {
  return new LocalStorageError("SlowDown", `${message}; try again shortly`);
}

/** For `.then(…, ignoreMissing)`: false when the path was not there, any other error rethrown. */
function ignoreMissing(error: unknown): false {
  if (isMissing(error)) return false;
  throw error;
}

function noSuchUpload(uploadId: string): LocalStorageError {
  return new LocalStorageError("NoSuchUpload", `no such upload: ${uploadId}`);
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** fsync a file or a directory by path (a directory fsync makes renames and creations in it durable). */
async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A part as listed: its ETag from the trailer (or the earlier layout's sidecar), its size without the trailer. */
async function readPart(path: string, withTrailer: boolean): Promise<FilePart | null> {
  const partNumber = Number.parseInt(basename(path), 10);
  try {
    if (!withTrailer) {
      const [etag, info] = await Promise.all([readFile(`${path}.etag`, "utf8"), stat(path)]);
      return { kind: "file", partNumber, etag: etag.trim(), size: info.size, lastModified: info.mtime, path, legacy: true };
    }
    const handle = await open(path, "r");
    try {
      const info = await handle.stat();
      const etag = await readTrailer(handle, info.size);
      // Only a damaged disk makes a part file without its trailer (it is renamed in whole, after fsync).
      if (etag === null) return null;
      return { kind: "file", partNumber, etag, size: info.size - PART_TRAILER_BYTES, lastModified: info.mtime, path, legacy: false };
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (isMissing(error)) return null; // removed meanwhile (replaced, aborted, completed)
    throw error;
  }
}

/** A part written in place, as its `.slot` record names it; null when the record is gone or not ours. */
async function readSlot(path: string): Promise<StoredPart | null> {
  try {
    const [target, info] = await Promise.all([readlink(path), lstat(path)]);
    const match = SLOT_TARGET.exec(target);
    if (!match) return null;
    const [, etag, offset, size] = match as unknown as [string, string, string, string];
    return {
      kind: "slot",
      partNumber: Number.parseInt(basename(path), 10),
      etag,
      offset: Number(offset),
      size: Number(size),
      lastModified: info.mtime,
    };
  } catch (error) {
    if (isMissing(error) || (error as NodeJS.ErrnoException).code === "EINVAL") return null;
    throw error;
  }
}

/** The ETag in the trailer of a part file of `fileSize` bytes, or null when there is none. */
async function readTrailer(handle: FileHandle, fileSize: number): Promise<string | null> {
  if (fileSize < PART_TRAILER_BYTES) return null;
  const buffer = Buffer.alloc(PART_TRAILER_BYTES);
  const { bytesRead } = await handle.read(buffer, 0, PART_TRAILER_BYTES, fileSize - PART_TRAILER_BYTES);
  return PART_TRAILER.exec(buffer.toString("latin1", 0, bytesRead))?.[1] ?? null;
}

/**
 * Appends one part file's bytes to `out` at `position`; returns how many. The part is opened first and its
 * ETag read from that open file, which is one version for good: the bytes copied are the ones the ETag names.
 */
async function copyPart(part: FilePart, etag: string, out: FileHandle, position: number): Promise<number> {
  const source = await open(part.path, "r");
  try {
    const { size: fileSize } = await source.stat();
    let length = fileSize;
    if (part.legacy) {
      if ((await readFile(`${part.path}.etag`, "utf8")).trim() !== etag) throw partChanged(part.partNumber);
    } else {
      if ((await readTrailer(source, fileSize)) !== etag) throw partChanged(part.partNumber);
      length -= PART_TRAILER_BYTES;
    }
    return await copyRange(source, 0, length, out, position);
  } finally {
    await source.close();
  }
}

/**
 * Copies `length` bytes of `source` from `from` to `out` at `position`; returns how many. Two reused
 * buffers, so the next read overlaps the current write (both run on libuv's pool).
 */
async function copyRange(source: FileHandle, from: number, length: number, out: FileHandle, position: number): Promise<number> {
  const buffers = [
    copyBuffers.pop() ?? Buffer.allocUnsafeSlow(COPY_BUFFER_BYTES),
    copyBuffers.pop() ?? Buffer.allocUnsafeSlow(COPY_BUFFER_BYTES),
  ] as const;
  // Each pending read or write is awaited, or settled unobserved when the loop fails (then both buffers
  // are dropped, not pooled: a read may still be filling one).
  let done = 0;
  let turn = 0;
  let writing: Promise<void> = Promise.resolve();
  let reading = length > 0 ? settled(readFully(source, buffers[0], Math.min(length, COPY_BUFFER_BYTES), from)) : undefined;
  while (reading) {
    const buffer = buffers[turn % 2]!;
    const n = await reading;
    await writing; // the other buffer is free again
    const at = done;
    done += n;
    reading =
      done < length
        ? settled(readFully(source, buffers[(turn + 1) % 2]!, Math.min(length - done, COPY_BUFFER_BYTES), from + done))
        : undefined;
    writing = settled(writeFully(out, buffer, n, position + at));
    turn++;
  }
  await writing;
  if (copyBuffers.length < 8) copyBuffers.push(...buffers);
  return length;
}

async function readFully(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<number> {
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new Error("part file ended early");
    filled += bytesRead;
  }
  return filled;
}

async function writeFully(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  let written = 0;
  while (written < length) written += (await handle.write(buffer, written, length - written, position + written)).bytesWritten;
}

function partChanged(partNumber: number): LocalStorageError {
  return new LocalStorageError("InvalidPart", `part ${partNumber} changed while completing`);
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The promise, with rejections handled until someone awaits it (it may be awaited only later, or never). */
function settled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

const openFd = promisify(openCallback);

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}
