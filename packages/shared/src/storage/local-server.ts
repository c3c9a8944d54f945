import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import type { Logger } from "../logger.ts";
import { contentDisposition } from "./content-disposition.ts";
import type { SignedOperation } from "./driver.ts";
import { type LocalStorageDriver, LocalStorageError, type LocalStorageErrorCode } from "./local.ts";
import { MAX_PART_NUMBER, type VerifyFailure, verifyLocalRequest } from "./local-signing.ts";

/**
 * The `/storage` half of the local driver: answers the signed calls exactly as S3 answers them (status
 * codes, headers, XML bodies), so @uppy/aws-s3 in signRequest mode and any integrator's code work against
 * either driver unchanged. A Web-standard handler; the API mounts it with
 * `app.all("/storage/*", (c) => handler(c.req.raw))`. CORS preflights are the API's middleware's job.
 *
 * What the client can influence is only the bytes and when it sends them: the key, upload id, part number,
 * byte limit, content type and download name all come from the signed URL.
 */

/** S3's largest single PUT and largest part. */
const DEFAULT_MAX_BODY_BYTES = 5 * 1024 ** 3;
/** A CompleteMultipartUpload body of 10,000 parts is ~800 KiB; nothing honest needs more. */
const MAX_COMPLETE_BODY_BYTES = 1024 * 1024;
const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";
/** Bucket name reported in S3 XML answers; clients only echo it. */
const BUCKET = "local";

export interface LocalStorageHandlerOptions {
  /** The same secret the driver signs with. */
  secret: string;
  /** Upper bound on any PUT body (whole object or part), on top of the signed limit. Default 5 GiB, as S3. */
  maxPartBytes?: number;
  log?: Pick<Logger, "debug" | "info" | "warn" | "error">;
  /** For tests; defaults to the clock. */
  now?: () => Date;
}

/**
 * `incoming`: the Node request `request` was made from, when there is one (@hono/node-server passes it as
 * `c.env.incoming`). Upload bodies are then read from it directly: the Web stream the adapter wraps around
 * it, and our conversion back to a Node stream, cost ~25–40 % of the throughput of a 256 MiB PUT on 2 cores
 * (bench/upload-path.ts). Its body must not have been read.
 */
export type LocalStorageHandler = (request: Request, incoming?: IncomingMessage) => Promise<Response>;

export function createLocalStorageHandler(driver: LocalStorageDriver, options: LocalStorageHandlerOptions): LocalStorageHandler {
  const maxBodyBytes = options.maxPartBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = options.log;
  const now = options.now ?? (() => new Date());

  return async function handleStorageRequest(request: Request, incoming?: IncomingMessage): Promise<Response> {
    const method = request.method.toUpperCase();
    if (method !== "GET" && method !== "PUT" && method !== "POST" && method !== "DELETE") {
      return s3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.", {
        allow: "GET, PUT, POST, DELETE",
      });
    }

    const verified = verifyLocalRequest({ secret: options.secret, method, url: request.url, now: now() });
    if (!verified.ok) {
      log?.warn({ method, reason: verified.reason }, "storage request refused");
      return refusal(verified.reason);
    }
    const operation = verified.operation;

    try {
      const response = await perform(operation, request, incoming);
      log?.debug({ op: operation.op, storageKey: operation.key, status: response.status }, "storage request");
      return response;
    } catch (error) {
      return failure(error, operation, request);
    }
  };

  async function perform(operation: SignedOperation, request: Request, incoming: IncomingMessage | undefined): Promise<Response> {
    switch (operation.op) {
      case "putObject": {
        // S3 refuses a PUT whose content type differs from the signed one (it is a signed header there).
        if (!sameMediaType(request.headers.get("content-type"), operation.contentType)) return contentTypeMismatch();
        const limit = Math.min(operation.maxBytes, maxBodyBytes);
        if (declaredLength(request) > limit) return tooLarge(limit);
        const contentMd5 = declaredMd5(request);
        if (contentMd5 === null) return invalidDigest();
        const { etag } = await driver.putObjectStream(operation.key, bodyStream(request, incoming), limit, { contentMd5 });
        return new Response(null, { status: 200, headers: { etag: `"${etag}"` } });
      }

      case "createMultipart": {
        if (!sameMediaType(request.headers.get("content-type"), operation.contentType)) return contentTypeMismatch();
        const uploadId = await driver.createMultipart(operation.key, operation.contentType, { partBytes: operation.partBytes });
        return xml(
          200,
          `<InitiateMultipartUploadResult xmlns="${S3_XMLNS}"><Bucket>${BUCKET}</Bucket><Key>${escapeXml(operation.key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
        );
      }

      case "uploadPart": {
        const limit = Math.min(operation.maxBytes, maxBodyBytes);
        if (declaredLength(request) > limit) return tooLarge(limit);
        const contentMd5 = declaredMd5(request);
        if (contentMd5 === null) return invalidDigest();
        // An unknown upload is refused (by the driver) before a single byte is written.
        const { etag } = await driver.uploadPartStream(
          operation.key,
          operation.uploadId,
          operation.partNumber,
          bodyStream(request, incoming),
          limit,
          { contentMd5 },
        );
        return new Response(null, { status: 200, headers: { etag: `"${etag}"` } });
      }

      case "listParts": {
        const parts = await driver.listParts(operation.key, operation.uploadId);
        const body = parts
          .map(
            (p) =>
              `<Part><PartNumber>${p.partNumber}</PartNumber><LastModified>${p.lastModified.toISOString()}</LastModified><ETag>&quot;${p.etag}&quot;</ETag><Size>${p.size}</Size></Part>`,
          )
          .join("");
        // All parts in one page (at most 10,000): Uppy does not follow NextPartNumberMarker.
        const next = parts.at(-1)?.partNumber ?? 0;
        return xml(
          200,
          `<ListPartsResult xmlns="${S3_XMLNS}"><Bucket>${BUCKET}</Bucket><Key>${escapeXml(operation.key)}</Key><UploadId>${operation.uploadId}</UploadId><PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>${next}</NextPartNumberMarker><MaxParts>${MAX_PART_NUMBER}</MaxParts><IsTruncated>false</IsTruncated>${body}</ListPartsResult>`,
        );
      }

      case "completeMultipart": {
        const text = await readCappedText(request, MAX_COMPLETE_BODY_BYTES);
        if (text === null) return s3Error(400, "MaxMessageLengthExceeded", "Your request was too big.");
        const parts = parseCompleteMultipartXml(text);
        if (!parts)
          return s3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
        const { etag } = await driver.completeMultipart(operation.key, operation.uploadId, parts);
        return xml(
          200,
          `<CompleteMultipartUploadResult xmlns="${S3_XMLNS}"><Location>${escapeXml(driver.objectUrl(operation.key))}</Location><Bucket>${BUCKET}</Bucket><Key>${escapeXml(operation.key)}</Key><ETag>&quot;${etag}&quot;</ETag></CompleteMultipartUploadResult>`,
        );
      }

      case "abortMultipart":
        // Idempotent like the driver call: aborting twice (a retry after a lost answer) is not an error.
        await driver.abortMultipart(operation.key, operation.uploadId);
        return new Response(null, { status: 204 });

      case "getObject": {
        const object = await driver.openForDownload(operation.key);
        if (!object) return s3Error(404, "NoSuchKey", "The specified key does not exist.");
        // The download is untrusted content on our origin: never rendered, never sniffed, never cached.
        return new Response(Readable.toWeb(object.stream) as ReadableStream, {
          status: 200,
          headers: {
            "content-type": operation.contentType,
            "content-length": String(object.size),
            "content-disposition": contentDisposition(operation.filename),
            "x-content-type-options": "nosniff",
            "content-security-policy": "sandbox",
            "cache-control": "private, no-store",
            "last-modified": object.lastModified.toUTCString(),
          },
        });
      }
    }
  }

  function failure(error: unknown, operation: SignedOperation, request: Request): Response {
    if (error instanceof LocalStorageError) {
      const [status, message] = LOCAL_ERROR_ANSWER[error.code];
      log?.info({ op: operation.op, storageKey: operation.key, code: error.code }, "storage request failed");
      return s3Error(
        status,
        error.code === "InvalidKey" ? "InvalidArgument" : error.code,
        message,
        error.code === "SlowDown" ? { "retry-after": "1" } : {},
      );
    }
    // A body that stopped early (client aborted, connection dropped) is the client's problem, not a 500:
    // only errors from the system (they carry a syscall: ENOSPC, EIO, ...) are ours.
    if (request.signal.aborted || !isSystemError(error)) {
      if (request.method === "PUT" || request.method === "POST") {
        log?.info({ op: operation.op, storageKey: operation.key, err: error }, "storage upload interrupted");
        return s3Error(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.");
      }
    }
    log?.error({ op: operation.op, storageKey: operation.key, err: error }, "storage request failed");
    return s3Error(500, "InternalError", "We encountered an internal error. Please try again.");
  }
}

/** Status and S3 message for each driver error. */
const LOCAL_ERROR_ANSWER: Record<LocalStorageErrorCode, [number, string]> = {
  NoSuchKey: [404, "The specified key does not exist."],
  NoSuchUpload: [
    404,
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
  ],
  EntityTooLarge: [400, "Your proposed upload exceeds the maximum allowed size."],
  EntityTooSmall: [400, "Your proposed upload is smaller than the minimum allowed object size."],
  InvalidPart: [
    400,
    "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
  ],
  InvalidPartOrder: [400, "The list of parts was not in ascending order. The parts list must be specified in order by part number."],
  BadDigest: [400, "The Content-MD5 you specified did not match what we received."],
  InvalidKey: [400, "Invalid key."],
  SlowDown: [503, "Please reduce your request rate."],
};

/** Verification failures, answered as S3 answers a bad presigned URL. */
function refusal(reason: VerifyFailure): Response {
  switch (reason) {
    case "method_mismatch":
      return s3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.", {
        allow: "GET, PUT, POST, DELETE",
      });
    case "bad_signature":
      return s3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
    case "expired":
      return s3Error(403, "RequestExpired", "Request has expired.");
    case "malformed":
      return s3Error(403, "AccessDenied", "Query-string authentication requires a valid signed URL.");
  }
}

function contentTypeMismatch(): Response {
  return s3Error(403, "SignatureDoesNotMatch", "The Content-Type header does not match the signed content type.");
}

function tooLarge(limit: number): Response {
  return s3Error(400, "EntityTooLarge", `Your proposed upload exceeds the maximum allowed size (${limit} bytes).`);
}

/**
 * S3's error shape. Uppy reads `<Code>` only when Content-Type is exactly `application/xml` (no charset),
 * so that is what every XML answer carries.
 */
function s3Error(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  const requestId = randomBytes(8).toString("hex").toUpperCase();
  return xml(
    status,
    `<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message><RequestId>${requestId}</RequestId></Error>`,
    headers,
  );
}

function xml(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
    status,
    headers: { "content-type": "application/xml", ...headers },
  });
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Content types compare by essence (`type/subtype`, case-insensitive): a browser may append `;charset=...`. */
function sameMediaType(sent: string | null, signed: string): boolean {
  if (sent === null) return false;
  const essence = (value: string) => value.split(";")[0]!.trim().toLowerCase();
  return essence(sent) === essence(signed);
}

function invalidDigest(): Response {
  return s3Error(400, "InvalidDigest", "The Content-MD5 you specified is not valid.");
}

/**
 * The Content-MD5 header as lowercase hex: undefined when absent (nothing is hashed then), null when it is
 * not the base64 of 16 bytes (S3's InvalidDigest).
 */
function declaredMd5(request: Request): string | undefined | null {
  const value = request.headers.get("content-md5");
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (!/^[A-Za-z0-9+/]{22}==$/.test(trimmed)) return null;
  return Buffer.from(trimmed, "base64").toString("hex");
}

/** The declared Content-Length, or 0 when absent (chunked bodies are still counted as they stream). */
function declaredLength(request: Request): number {
  const value = request.headers.get("content-length");
  if (value === null || !/^\d+$/.test(value)) return 0;
  return Number(value);
}

/** The request body as a Node stream, without buffering; an absent body is an empty stream. */
function bodyStream(request: Request, incoming: IncomingMessage | undefined): Readable {
  if (incoming) return incoming;
  if (!request.body) return Readable.from([]);
  return Readable.fromWeb(request.body as import("node:stream/web").ReadableStream<Uint8Array>);
}

/** Reads a small text body, giving up (null) as soon as it passes `cap` bytes. */
async function readCappedText(request: Request, cap: number): Promise<string | null> {
  if (declaredLength(request) > cap) return null;
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const XML_ENTITIES: Record<string, string> = {
  "&quot;": '"',
  "&#34;": '"',
  "&apos;": "'",
  "&#39;": "'",
  "&lt;": "<",
  "&gt;": ">",
  "&amp;": "&",
};

/**
 * A strict reader for the one XML body we accept:
 * `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"…"</ETag></Part>…</CompleteMultipartUpload>`.
 * Anything else (other elements, attributes on parts, comments, DTDs, more than 10,000 parts) is null,
 * i.e. MalformedXML; S3's optional per-part checksum elements are accepted and ignored.
 * Returns the parts in the order given (ordering is the driver's check, for the right error code).
 */
export function parseCompleteMultipartXml(text: string): Array<{ partNumber: number; etag: string }> | null {
  const body = text
    .replace(/^\uFEFF/, "")
    .trim()
    .replace(/^<\?xml\s[^?>]*\?>\s*/, "");
  const root = /^<CompleteMultipartUpload(?:\s+xmlns="[^"<>]*")?\s*>([\s\S]*)<\/CompleteMultipartUpload>$/.exec(body);
  if (!root) return null;
  const inner = root[1]!;
  const partPattern = /\s*<Part>([\s\S]*?)<\/Part>\s*/y;
  const fieldPattern = /\s*<([A-Za-z0-9]+)>([^<]*)<\/\1>\s*/y;
  const parts: Array<{ partNumber: number; etag: string }> = [];
  let index = 0;
  while (index < inner.length) {
    partPattern.lastIndex = index;
    const part = partPattern.exec(inner);
    if (!part) return inner.slice(index).trim() === "" ? finish() : null;
    index = partPattern.lastIndex;
    if (parts.length === MAX_PART_NUMBER) return null;

    const fields = new Map<string, string>();
    const content = part[1]!;
    let at = 0;
    while (at < content.length) {
      fieldPattern.lastIndex = at;
      const field = fieldPattern.exec(content);
      if (!field) {
        if (content.slice(at).trim() !== "") return null;
        break;
      }
      at = fieldPattern.lastIndex;
      const [, name, value] = field as unknown as [string, string, string];
      if (fields.has(name)) return null;
      if (name !== "PartNumber" && name !== "ETag" && !name.startsWith("Checksum")) return null;
      fields.set(name, value.replace(/&(?:quot|apos|lt|gt|amp|#34|#39);/g, (entity) => XML_ENTITIES[entity] ?? entity).trim());
    }
    const partNumber = fields.get("PartNumber");
    const etag = fields.get("ETag");
    if (partNumber === undefined || etag === undefined || !/^[1-9][0-9]{0,4}$/.test(partNumber) || Number(partNumber) > MAX_PART_NUMBER)
      return null;
    parts.push({ partNumber: Number(partNumber), etag });
  }
  return finish();

  function finish() {
    return parts.length > 0 ? parts : null;
  }
}

function isSystemError(error: unknown): boolean {
  return typeof error === "object" && error !== null && typeof (error as { syscall?: unknown }).syscall === "string";
}
