import { createHmac, timingSafeEqual } from "node:crypto";
import { SIGNABLE_PREFIX, type SignedOperation, type SignedOperationName, type SignedRequest } from "./driver.ts";

/**
 * Signed URLs of the local driver: the `/storage` routes accept a call only when its URL carries an
 * HMAC-SHA256 over everything that decides what the call may do (method, operation, key, upload id,
 * part number, byte limit, download name and type, expiry). The server chose all of them, so a client can
 * replay a URL only for the exact call it was given, until it expires.
 */

/** Longest validity we sign or accept, like S3's SigV4 presigned URLs. */
export const LOCAL_MAX_TTL_SECONDS = 7 * 24 * 3600;
/** S3's part-number range. */
export const MAX_PART_NUMBER = 10_000;
/** S3's key-length limit (bytes of UTF-8). */
const MAX_KEY_BYTES = 1024;
/** The env already requires this for STORAGE_SIGNING_SECRET; repeated here so a test or script can't sign with a weak one. */
const MIN_SECRET_LENGTH = 32;
/** Bumped if the canonical string ever changes, so old URLs fail closed instead of meaning something else. */
const SIGNATURE_VERSION = "AIRLOCK-HMAC-SHA256-1";

/** Query parameter names (the S3 ones keep S3's spelling so URLs read familiar in logs and dev tools). */
export const PARAM = {
  op: "X-Airlock-Op",
  expires: "X-Airlock-Expires",
  uploadId: "uploadId",
  partNumber: "partNumber",
  maxBytes: "X-Airlock-Max",
  filename: "X-Airlock-Filename",
  contentType: "X-Airlock-Type",
  signature: "X-Airlock-Signature",
} as const;

/** The one HTTP method each operation is answered on (the same as S3's). */
export const OPERATION_METHOD = {
  putObject: "PUT",
  createMultipart: "POST",
  uploadPart: "PUT",
  listParts: "GET",
  completeMultipart: "POST",
  abortMultipart: "DELETE",
  getObject: "GET",
} as const satisfies Record<SignedOperationName, SignedRequest["method"]>;

export type LocalMethod = SignedRequest["method"];

/** Why a request was refused. Each maps to an S3-style error in local-server.ts. */
export type VerifyFailure = "expired" | "bad_signature" | "malformed" | "method_mismatch";

export type VerifyResult = { ok: true; operation: SignedOperation; expiresAt: Date } | { ok: false; reason: VerifyFailure };

/** Upload ids are made by LocalStorageDriver (32 random hex digits) and used as a directory name: nothing else passes. */
export const UPLOAD_ID_PATTERN = /^[0-9a-f]{32}$/;

/**
 * Returns why a key may not be used as a path, or null. Keys are server-made, so this is defence in
 * depth: it keeps a key from ever naming a path outside its prefix (`..`, `.`, empty segments), a
 * Windows separator, or a control character that could split a header or a log line.
 */
export function invalidKeyReason(key: string): string | null {
  if (key.length === 0) return "empty key";
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) return "key longer than 1024 bytes";
  if (key.includes("\\")) return "backslash in key";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we refuse.
  if (/[\u0000-\u001f\u007f]/.test(key)) return "control character in key";
  if (key.split("/").some((segment) => segment === "" || segment === "." || segment === "..")) return "empty, '.' or '..' segment in key";
  // A lone surrogate has no UTF-8 form (encodeURIComponent throws on it).
  if (/[\uD800-\uDFFF]/u.test(key)) return "lone surrogate in key";
  return null;
}

/** The signable subset: valid and under `uploads/` (quarantine and thumbnails are never signed). */
export function invalidSignableKeyReason(key: string): string | null {
  if (!key.startsWith(SIGNABLE_PREFIX)) return `key outside ${SIGNABLE_PREFIX}`;
  return invalidKeyReason(key);
}

/** `uploads/a b/ü` → `uploads/a%20b/%C3%BC`: each segment percent-encoded, slashes kept. */
export function encodeKeyPath(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

export interface SignLocalUrlInput {
  /** Public origin (and optional path) of the API, e.g. `https://airlock.example.com`. */
  baseUrl: string;
  secret: string;
  method: LocalMethod;
  operation: SignedOperation;
  expiresAt: Date;
  /** For tests; defaults to the clock. */
  now?: Date;
}

/** Builds the signed URL of exactly one call. Throws on anything verifyLocalRequest would refuse. */
export function signLocalUrl({ baseUrl, secret, method, operation, expiresAt, now = new Date() }: SignLocalUrlInput): string {
  assertSecret(secret);
  const keyProblem = invalidSignableKeyReason(operation.key);
  if (keyProblem) throw new Error(`refusing to sign ${operation.op}: ${keyProblem}`);
  if (OPERATION_METHOD[operation.op] !== method)
    throw new Error(`${operation.op} is called with ${OPERATION_METHOD[operation.op]}, not ${method}`);
  const expires = Math.floor(expiresAt.getTime() / 1000);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (!Number.isSafeInteger(expires) || expires <= nowSeconds) throw new Error("expiresAt must be in the future");
  if (expires - nowSeconds > LOCAL_MAX_TTL_SECONDS) throw new Error("expiresAt is more than 7 days away");

  const fields = fieldsOf(operation);
  if (fields.uploadId !== undefined && !UPLOAD_ID_PATTERN.test(fields.uploadId)) throw new Error("not a local upload id");
  if (fields.partNumber !== undefined && !isPartNumber(fields.partNumber)) throw new Error(`part number outside 1..${MAX_PART_NUMBER}`);
  if (fields.maxBytes !== undefined && !(Number.isSafeInteger(fields.maxBytes) && fields.maxBytes >= 0))
    throw new Error("maxBytes must be a non-negative integer");
  if (operation.op === "createMultipart" && fields.maxBytes === 0) throw new Error("partBytes must be positive");
  if (fields.contentType !== undefined && !isHeaderSafe(fields.contentType)) throw new Error("content type is not a valid header value");

  const query = new URLSearchParams();
  query.set(PARAM.op, operation.op);
  query.set(PARAM.expires, String(expires));
  if (fields.uploadId !== undefined) query.set(PARAM.uploadId, fields.uploadId);
  if (fields.partNumber !== undefined) query.set(PARAM.partNumber, String(fields.partNumber));
  if (fields.maxBytes !== undefined) query.set(PARAM.maxBytes, String(fields.maxBytes));
  if (fields.filename !== undefined) query.set(PARAM.filename, fields.filename);
  if (fields.contentType !== undefined) query.set(PARAM.contentType, fields.contentType);
  query.set(PARAM.signature, signature(secret, canonicalString(method, operation.op, operation.key, fields, expires)));
  return `${baseUrl.replace(/\/+$/, "")}/storage/${encodeKeyPath(operation.key)}?${query.toString()}`;
}

export interface VerifyLocalRequestInput {
  secret: string;
  method: string;
  /** The full request URL (`request.url`); only its path and query are read. */
  url: string;
  now?: Date;
}

/**
 * Checks a request against its signature. Order matters: the shape first (so nothing unparsed reaches the
 * HMAC), then the method (a cheap, honest answer for a URL used with the wrong verb), then the signature,
 * and the expiry last, so "expired" is only ever said about a URL we really signed.
 */
export function verifyLocalRequest({ secret, method, url, now = new Date() }: VerifyLocalRequestInput): VerifyResult {
  assertSecret(secret);
  const parsed = parseSignedUrl(url);
  if (!parsed) return { ok: false, reason: "malformed" };
  const { operation, fields, expires, providedSignature } = parsed;

  if (OPERATION_METHOD[operation.op] !== method.toUpperCase()) return { ok: false, reason: "method_mismatch" };

  const expected = Buffer.from(
    signature(secret, canonicalString(OPERATION_METHOD[operation.op], operation.op, operation.key, fields, expires)),
    "hex",
  );
  const given = Buffer.from(providedSignature, "hex");
  // Both are 32 bytes (the format was checked), as timingSafeEqual requires; the guard keeps it so.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: "bad_signature" };

  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (nowSeconds >= expires) return { ok: false, reason: "expired" };
  // A genuine signature on a too-distant expiry means a signer was misconfigured (or the secret leaked):
  // refuse rather than honour a URL that outlives the rules.
  if (expires - nowSeconds > LOCAL_MAX_TTL_SECONDS) return { ok: false, reason: "malformed" };
  return { ok: true, operation, expiresAt: new Date(expires * 1000) };
}

/** The per-operation values that go into the URL and the signature. */
interface SignedFields {
  uploadId?: string;
  partNumber?: number;
  maxBytes?: number;
  filename?: string;
  contentType?: string;
}

function fieldsOf(operation: SignedOperation): SignedFields {
  switch (operation.op) {
    case "putObject":
      return { maxBytes: operation.maxBytes, contentType: operation.contentType };
    case "createMultipart":
      return { contentType: operation.contentType, maxBytes: operation.partBytes };
    case "uploadPart":
      return { uploadId: operation.uploadId, partNumber: operation.partNumber, maxBytes: operation.maxBytes };
    case "listParts":
    case "completeMultipart":
    case "abortMultipart":
      return { uploadId: operation.uploadId };
    case "getObject":
      return { filename: operation.filename, contentType: operation.contentType };
  }
}

/** Which optional parameters each operation carries; any other present is malformed (no parameter smuggling). */
const OPERATION_PARAMS: Record<SignedOperationName, ReadonlyArray<keyof SignedFields>> = {
  putObject: ["maxBytes", "contentType"],
  createMultipart: ["contentType", "maxBytes"],
  uploadPart: ["uploadId", "partNumber", "maxBytes"],
  listParts: ["uploadId"],
  completeMultipart: ["uploadId"],
  abortMultipart: ["uploadId"],
  getObject: ["filename", "contentType"],
};
/** Of those, the ones that may be absent (a multipart upload's part size). */
const OPTIONAL_PARAMS: Partial<Record<SignedOperationName, ReadonlyArray<keyof SignedFields>>> = {
  createMultipart: ["maxBytes"],
};

/**
 * One string per call, unambiguous by construction: a JSON array, so no value can borrow a separator
 * from its neighbour (`a\nb` + `c` never equals `a` + `b\nc`). Absent fields are "" and numbers are their
 * decimal form, the same on both sides.
 */
function canonicalString(method: LocalMethod, op: SignedOperationName, key: string, fields: SignedFields, expires: number): string {
  return JSON.stringify([
    SIGNATURE_VERSION,
    method,
    op,
    key,
    fields.uploadId ?? "",
    fields.partNumber === undefined ? "" : String(fields.partNumber),
    fields.maxBytes === undefined ? "" : String(fields.maxBytes),
    fields.filename ?? "",
    fields.contentType ?? "",
    String(expires),
  ]);
}

function signature(secret: string, canonical: string): string {
  return createHmac("sha256", secret).update(canonical, "utf8").digest("hex");
}

interface ParsedUrl {
  operation: SignedOperation;
  fields: SignedFields;
  expires: number;
  providedSignature: string;
}

const OPERATIONS = new Set<string>(Object.keys(OPERATION_METHOD));

function parseSignedUrl(raw: string): ParsedUrl | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  const prefix = "/storage/";
  if (!url.pathname.startsWith(prefix)) return null;
  let key: string;
  try {
    key = decodeURIComponent(url.pathname.slice(prefix.length));
  } catch {
    return null;
  }
  if (invalidSignableKeyReason(key)) return null;

  const query = url.searchParams;
  // Every parameter we read must appear at most once: with two, which one did the signer mean?
  for (const name of Object.values(PARAM)) if (query.getAll(name).length > 1) return null;

  const op = query.get(PARAM.op);
  if (op === null || !OPERATIONS.has(op)) return null;
  const opName = op as SignedOperationName;
  const expires = parseDecimal(query.get(PARAM.expires));
  const providedSignature = query.get(PARAM.signature);
  if (expires === null || providedSignature === null || !/^[0-9a-f]{64}$/.test(providedSignature)) return null;

  const allowed = OPERATION_PARAMS[opName];
  const optional = OPTIONAL_PARAMS[opName] ?? [];
  const fields: SignedFields = {};
  for (const field of ["uploadId", "partNumber", "maxBytes", "filename", "contentType"] as const) {
    const present = query.get(PARAM[field]) !== null;
    if (present ? !allowed.includes(field) : allowed.includes(field) && !optional.includes(field)) return null;
  }
  const uploadId = query.get(PARAM.uploadId);
  if (uploadId !== null) {
    if (!UPLOAD_ID_PATTERN.test(uploadId)) return null;
    fields.uploadId = uploadId;
  }
  const partText = query.get(PARAM.partNumber);
  if (partText !== null) {
    const partNumber = parseDecimal(partText);
    if (partNumber === null || !isPartNumber(partNumber)) return null;
    fields.partNumber = partNumber;
  }
  const maxText = query.get(PARAM.maxBytes);
  if (maxText !== null) {
    const maxBytes = parseDecimal(maxText);
    if (maxBytes === null) return null;
    fields.maxBytes = maxBytes;
  }
  const filename = query.get(PARAM.filename);
  if (filename !== null) fields.filename = filename;
  const contentType = query.get(PARAM.contentType);
  if (contentType !== null) {
    if (!isHeaderSafe(contentType)) return null;
    fields.contentType = contentType;
  }

  const operation = operationOf(opName, key, fields);
  return { operation, fields, expires, providedSignature };
}

function operationOf(op: SignedOperationName, key: string, f: SignedFields): SignedOperation {
  // Presence of each field was checked against OPERATION_PARAMS, so the assertions below hold.
  switch (op) {
    case "putObject":
      return { op, key, contentType: f.contentType!, maxBytes: f.maxBytes! };
    case "createMultipart":
      return { op, key, contentType: f.contentType!, ...(f.maxBytes !== undefined && { partBytes: f.maxBytes }) };
    case "uploadPart":
      return { op, key, uploadId: f.uploadId!, partNumber: f.partNumber!, maxBytes: f.maxBytes! };
    case "listParts":
    case "completeMultipart":
    case "abortMultipart":
      return { op, key, uploadId: f.uploadId! };
    case "getObject":
      return { op, key, filename: f.filename!, contentType: f.contentType! };
  }
}

/** Canonical decimal only ("1", never "01", "+1", "1e3"), so each number has exactly one spelling. */
function parseDecimal(text: string | null): number | null {
  if (text === null || !/^(0|[1-9][0-9]{0,15})$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

function isPartNumber(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_PART_NUMBER;
}

/** Printable ASCII only: the signed type is echoed as a response header. */
function isHeaderSafe(value: string): boolean {
  return /^[\x20-\x7e]{1,255}$/.test(value);
}

function assertSecret(secret: string): void {
  if (secret.length < MIN_SECRET_LENGTH)
    throw new Error(`the local storage signing secret must be at least ${MIN_SECRET_LENGTH} characters`);
}
