import { request as httpRequest } from "node:http";
import type { AssetStatus, UploadEventType } from "@airlock/db";
import { localSigningSecret } from "@airlock/shared/storage";
import { signLocalUrl } from "@airlock/shared/storage/local-signing";
import { type TRPCClient, TRPCClientError } from "@trpc/client";
import type { AppRouter } from "./root.ts";
import type { TestServer } from "./test-server.ts";
import { sendSigned } from "./test-upload-client.ts";

/**
 * The bad-input catalogue (issue 11): one row per hostile input, each with what is sent, the answer it
 * must get, and what it may leave behind. `bad-inputs.integration.test.ts` runs every row against a real
 * API (local driver, so `/storage` answers are ours) and checks afterwards that nothing is half-written:
 * the attacker's assets, upload events and stored objects are exactly those the row allows, and the
 * victim's asset is untouched. docs/SECURITY.md points here; keep its table in step.
 */

type Client = TRPCClient<AppRouter>;

export const MiB = 1024 * 1024;
/** The limits the catalogue's server runs with (see the test's beforeAll). */
export const CATALOGUE_ENV = {
  UPLOAD_MAX_BYTES: String(100 * 1024 * MiB),
  MULTIPART_THRESHOLD_BYTES: String(5 * MiB),
  MULTIPART_PART_SIZE_BYTES: String(5 * MiB),
  BODY_LIMIT_BYTES: String(64 * 1024),
  UPLOAD_RATE_LIMIT_PER_MINUTE: "1000",
} as const;

export interface Attacker {
  server: TestServer;
  /** The attacker's own key, user and typed client: a fresh user per row. */
  key: string;
  userId: string;
  keyId: string;
  client: Client;
  /** Another user's UPLOADED asset, for the cross-user rows. */
  victim: { assetId: string; key: string };
}

/** What came back: a tRPC error, an HTTP answer (raw calls and /storage), or a success. */
export type Outcome =
  | { kind: "trpc"; code: string; appCode: string | undefined; message: string }
  | { kind: "http"; status: number; body: string }
  | { kind: "ok"; value: unknown };

export type Expected = { trpc: string; appCode?: string } | { http: number } | { ok: true };

/** What a row may leave behind for the attacker's user (the default: nothing at all). */
export interface Leaves {
  assets: AssetStatus[];
  events: UploadEventType[];
  /** Objects under `uploads/{userId}/`. */
  objects: number;
}

export interface BadInput {
  group: "names" | "types" | "sizes" | "parts" | "signatures" | "auth" | "payloads";
  name: string;
  /** Printed with the row: what was injected. */
  attack: string;
  expect: Expected;
  /** Fragment of the error message (or /storage body, or JSON of the success) the caller sees. */
  message: string | RegExp;
  leaves?: Partial<Leaves>;
  run(a: Attacker): Promise<Outcome>;
  /** Further assertions on the outcome; throws on failure. */
  check?(a: Attacker, outcome: Outcome): Promise<void>;
}

export const NOTHING: Leaves = { assets: [], events: [], objects: 0 };
const PENDING: Partial<Leaves> = { assets: ["PENDING_UPLOAD"], events: ["INITIATED"] };
const FAILED: Partial<Leaves> = { assets: ["FAILED"], events: ["INITIATED", "FAILED"] };

/** Runs a call and turns whatever happens into an Outcome. */
export async function attempt(call: Promise<unknown>): Promise<Outcome> {
  try {
    return { kind: "ok", value: await call };
  } catch (error) {
    if (!(error instanceof TRPCClientError)) throw error;
    const data = error.data as { code?: string; appCode?: string } | undefined;
    return { kind: "trpc", code: data?.code ?? "?", appCode: data?.appCode, message: error.message };
  }
}

async function http(res: Response | Promise<Response>): Promise<Outcome> {
  const r = await res;
  return { kind: "http", status: r.status, body: await r.text() };
}

function expectThat(condition: boolean, what: string): void {
  if (!condition) throw new Error(`expected ${what}`);
}

const initiate = (a: Attacker, input: Record<string, unknown>) => attempt(a.client.upload.initiate.mutate(input as never));
const text = (filename: string, size = 10) => ({ filename, mimeType: "text/plain", size });

/** Initiate + one signed PUT of `bytes` + confirm, as a client would. */
async function uploadAndConfirm(a: Attacker, bytes: Buffer, filename: string, mimeType: string): Promise<Outcome> {
  const init = await a.client.upload.initiate.mutate({ filename, mimeType, size: bytes.length });
  const { res, text: body } = await sendSigned(a.client, init.assetId, { method: "PUT" }, bytes);
  if (!res.ok) throw new Error(`setup PUT failed: ${res.status} ${body}`);
  return attempt(a.client.upload.confirm.mutate({ assetId: init.assetId }));
}

/** A single-PUT upload initiated and signed; the row then abuses the URL. */
async function signedPut(a: Attacker, size = 16) {
  const init = await a.client.upload.initiate.mutate(text("victim.txt", size));
  const signed = await a.client.upload.sign.mutate({ assetId: init.assetId, method: "PUT" });
  return { init, signed, body: Buffer.alloc(size, "a") };
}

/**
 * A multipart upload initiated (two 5 MiB parts), created, and bound to the asset by signing its first
 * part (the API learns an uploadId only when a call is signed with it); its uploadId.
 */
async function startedMultipart(a: Attacker) {
  const init = await a.client.upload.initiate.mutate({ filename: "big.bin", mimeType: "application/octet-stream", size: 10 * MiB });
  const { res, text: xml } = await sendSigned(a.client, init.assetId, { method: "POST" });
  if (!res.ok) throw new Error(`setup create failed: ${res.status}`);
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(xml)?.[1] ?? "";
  await a.client.upload.sign.mutate({ assetId: init.assetId, method: "PUT", uploadId, partNumber: 1 });
  return { init, uploadId };
}

function tamper(url: string, edit: (u: URL) => void): string {
  const u = new URL(url);
  edit(u);
  return u.toString();
}

/** A raw POST to a tRPC procedure, bypassing the typed client (malformed bodies, wrong types). */
function rawTrpc(a: Attacker, path: string, body: string, headers: Record<string, string> = {}) {
  return http(
    fetch(`${a.server.url}/trpc/${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.key}`, "content-type": "application/json", ...headers },
      body,
    }),
  );
}

/** Through node:http, because fetch refuses to send some of what attackers send (huge headers). */
function rawHttp(url: string, headers: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    // The path goes as written: a WHATWG URL (fetch, or node:http given a string) resolves dot segments.
    const { hostname, port } = new URL(url);
    const path = url.replace(/^https?:\/\/[^/]+/, "");
    const req = httpRequest({ hostname, port, path, method: "GET", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ kind: "http", status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const GIF_JS_POLYGLOT = Buffer.from("GIF89a/*\x00\x00\x00\x00*/=1;alert(document.domain)//;", "latin1");
const PNG_1x1 = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4ae0000000049454e44ae426082",
  "hex",
);
const SVG_SCRIPT = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>');
const MZ_EXE = Buffer.concat([Buffer.from("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "latin1"), Buffer.alloc(200)]);

/**
 * Reads the object a row left stored through a download URL signed the way `upload.downloadUrl` signs
 * it (the asset is not CLEAN, so the API itself refuses): what a browser would get if it were served.
 */
async function servedHeaders(a: Attacker, assetId: string) {
  const asset = await a.server.db.asset.findUniqueOrThrow({ where: { id: assetId } });
  const signed = await a.server.storage.sign(
    { op: "getObject", key: asset.storageKey, filename: asset.safeName, contentType: asset.detectedMime ?? asset.declaredMime },
    60,
  );
  const res = await fetch(signed.url);
  await res.arrayBuffer();
  return res.headers;
}

/** Served only as a sandboxed, non-sniffable attachment, and not at all by the API until scanned clean. */
async function servedOnlyAsSandboxedAttachment(a: Attacker, outcome: Outcome): Promise<void> {
  expectThat(outcome.kind === "ok", "the upload to be accepted");
  const { id } = (outcome as { value: { id: string } }).value;
  const refused = await attempt(a.client.upload.downloadUrl.mutate({ assetId: id }));
  expectThat(refused.kind === "trpc" && refused.appCode === "INVALID_STATE", "no download URL before a clean verdict");
  const headers = await servedHeaders(a, id);
  expectThat(/^attachment;/.test(headers.get("content-disposition") ?? ""), "Content-Disposition: attachment");
  expectThat(headers.get("content-security-policy") === "sandbox", "Content-Security-Policy: sandbox");
  expectThat(headers.get("x-content-type-options") === "nosniff", "X-Content-Type-Options: nosniff");
}

/** An accepted name: the key holds exactly `safe` as its last segment, and the original is kept for display. */
function keyEndsWith(safe: string) {
  return async (_a: Attacker, outcome: Outcome) => {
    expectThat(outcome.kind === "ok", "the name to be accepted after sanitising");
    const { key } = (outcome as { value: { key: string } }).value;
    const last = key.split("/").pop() ?? "";
    expectThat(last === safe, `the key's last segment to be ${JSON.stringify(safe)}, got ${JSON.stringify(last)}`);
    expectThat(/^uploads\/[0-9a-f-]{36}\/[0-9a-f-]{36}\/[^/\\]+$/.test(key), `a server-made key, got ${key}`);
  };
}

const names: BadInput[] = [
  {
    group: "names",
    name: "dot-dot-slash traversal",
    attack: 'filename "../../etc/passwd.txt"',
    expect: { ok: true },
    message: "passwd.txt",
    leaves: PENDING,
    run: (a) => initiate(a, text("../../etc/passwd.txt")),
    check: keyEndsWith("passwd.txt"),
  },
  {
    group: "names",
    name: "backslash traversal",
    attack: 'filename "..\\\\..\\\\boot\\\\notes.txt"',
    expect: { ok: true },
    message: "notes.txt",
    leaves: PENDING,
    run: (a) => initiate(a, text("..\\..\\boot\\notes.txt")),
    check: keyEndsWith("notes.txt"),
  },
  {
    group: "names",
    name: "absolute POSIX path",
    attack: 'filename "/var/www/html/index.txt"',
    expect: { ok: true },
    message: "index.txt",
    leaves: PENDING,
    run: (a) => initiate(a, text("/var/www/html/index.txt")),
    check: keyEndsWith("index.txt"),
  },
  {
    group: "names",
    name: "absolute Windows path",
    attack: 'filename "C:\\\\Windows\\\\System32\\\\drivers.txt"',
    expect: { ok: true },
    message: "drivers.txt",
    leaves: PENDING,
    run: (a) => initiate(a, text("C:\\Windows\\System32\\drivers.txt")),
    check: keyEndsWith("drivers.txt"),
  },
  {
    group: "names",
    name: "NUL byte",
    attack: 'filename "shell.php\\0.txt"',
    expect: { trpc: "BAD_REQUEST", appCode: "INVALID_FILENAME" },
    message: "NUL",
    run: (a) => initiate(a, text("shell.php\u0000.txt")),
  },
  {
    group: "names",
    name: "percent-encoded NUL",
    attack: 'filename "shell.php%00.jpg"',
    expect: { trpc: "BAD_REQUEST", appCode: "INVALID_FILENAME" },
    message: "encoded control character",
    run: (a) => initiate(a, { filename: "shell.php%00.jpg", mimeType: "image/jpeg", size: 10 }),
  },
  {
    group: "names",
    name: "percent-encoded slash",
    attack: 'filename "..%2f..%2fetc%2fpasswd.txt"',
    expect: { trpc: "BAD_REQUEST", appCode: "INVALID_FILENAME" },
    message: "separator",
    run: (a) => initiate(a, text("..%2f..%2fetc%2fpasswd.txt")),
  },
  {
    group: "names",
    name: "CR/LF and other controls (header injection)",
    attack: 'filename "evil\\r\\nSet-Cookie: a=b\\u0007.txt"',
    expect: { ok: true },
    message: "evilSet-Cookie",
    leaves: PENDING,
    run: (a) => initiate(a, text("evil\r\nSet-Cookie: a=b\u0007.txt")),
    check: keyEndsWith("evilSet-Cookie_ a=b.txt"),
  },
  {
    group: "names",
    name: "right-to-left override",
    attack: 'filename "invoice\\u202Etxt.exe"',
    expect: { trpc: "BAD_REQUEST", appCode: "INVALID_FILENAME" },
    message: "bidirectional",
    run: (a) => initiate(a, { filename: "invoice\u202Etxt.pdf", mimeType: "application/pdf", size: 10 }),
  },
  {
    group: "names",
    name: "bidi isolate",
    attack: 'filename "report\\u2066gpj.txt"',
    expect: { trpc: "BAD_REQUEST", appCode: "INVALID_FILENAME" },
    message: "bidirectional",
    run: (a) => initiate(a, text("report\u2066gpj.txt")),
  },
  {
    group: "names",
    name: "zero-width characters only",
    attack: 'filename "\\u200b\\u200b\\ufeff"',
    expect: { trpc: "BAD_REQUEST", appCode: "INVALID_FILENAME" },
    message: "no usable characters",
    run: (a) => initiate(a, text("\u200b\u200b\ufeff")),
  },
  {
    group: "names",
    name: "a name of dots",
    attack: 'filename ".."',
    expect: { trpc: "BAD_REQUEST", appCode: "INVALID_FILENAME" },
    message: "no usable characters",
    run: (a) => initiate(a, text("..")),
  },
  {
    group: "names",
    name: "empty name",
    attack: 'filename ""',
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "filename",
    run: (a) => initiate(a, text("")),
  },
  {
    group: "names",
    name: "300-byte ASCII name",
    attack: 'filename "a"×296 + ".txt"',
    expect: { ok: true },
    message: ".txt",
    leaves: PENDING,
    run: (a) => initiate(a, text(`${"a".repeat(296)}.txt`)),
    check: keyEndsWith(`${"a".repeat(196)}.txt`),
  },
  {
    group: "names",
    name: "300-byte multibyte name",
    attack: 'filename "é"×148 + ".txt" (2-byte characters)',
    expect: { ok: true },
    message: ".txt",
    leaves: PENDING,
    run: (a) => initiate(a, text(`${"é".repeat(148)}.txt`)),
    check: keyEndsWith(`${"é".repeat(98)}.txt`),
  },
  {
    group: "names",
    name: "name over 1024 characters",
    attack: "filename of 2,000 characters",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "filename",
    run: (a) => initiate(a, text(`${"x".repeat(1996)}.txt`)),
  },
  {
    group: "names",
    name: "reserved name CON",
    attack: 'filename "CON.txt"',
    expect: { ok: true },
    message: "_CON.txt",
    leaves: PENDING,
    run: (a) => initiate(a, text("CON.txt")),
    check: keyEndsWith("_CON.txt"),
  },
  {
    group: "names",
    name: "reserved name NUL",
    attack: 'filename "nul.txt"',
    expect: { ok: true },
    message: "_nul.txt",
    leaves: PENDING,
    run: (a) => initiate(a, text("nul.txt")),
    check: keyEndsWith("_nul.txt"),
  },
  {
    group: "names",
    name: "reserved name COM1",
    attack: 'filename "COM1.txt"',
    expect: { ok: true },
    message: "_COM1.txt",
    leaves: PENDING,
    run: (a) => initiate(a, text("COM1.txt")),
    check: keyEndsWith("_COM1.txt"),
  },
  {
    group: "names",
    name: "double extension .jpg.php",
    attack: 'filename "photo.jpg.php" as image/jpeg',
    expect: { trpc: "BAD_REQUEST", appCode: "INVALID_FILENAME" },
    message: ".php extension",
    run: (a) => initiate(a, { filename: "photo.jpg.php", mimeType: "image/jpeg", size: 10 }),
  },
  {
    group: "names",
    name: "dangerous extension in the middle, mixed case",
    attack: 'filename "photo.PhP5.jpg" as image/jpeg',
    expect: { trpc: "BAD_REQUEST", appCode: "INVALID_FILENAME" },
    message: ".php5 extension",
    run: (a) => initiate(a, { filename: "photo.PhP5.jpg", mimeType: "image/jpeg", size: 10 }),
  },
  {
    group: "names",
    name: "HTML page",
    attack: 'filename "index.html" as text/plain',
    expect: { trpc: "BAD_REQUEST", appCode: "INVALID_FILENAME" },
    message: ".html extension",
    run: (a) => initiate(a, text("index.html")),
  },
];

const types: BadInput[] = [
  {
    group: "types",
    name: "SVG declared as SVG",
    attack: 'filename "logo.svg" as image/svg+xml',
    expect: { trpc: "BAD_REQUEST", appCode: "INVALID_FILENAME" },
    message: ".svg extension",
    run: (a) => initiate(a, { filename: "logo.svg", mimeType: "image/svg+xml", size: SVG_SCRIPT.length }),
  },
  {
    group: "types",
    name: "type outside the allowlist",
    attack: 'filename "logo.png" as image/svg+xml',
    expect: { trpc: "UNSUPPORTED_MEDIA_TYPE", appCode: "MIME_NOT_ALLOWED" },
    message: "image/svg+xml are not accepted",
    run: (a) => initiate(a, { filename: "logo.png", mimeType: "image/svg+xml", size: 10 }),
  },
  {
    group: "types",
    name: "extension contradicting the type",
    attack: 'filename "photo.pdf" as image/png',
    expect: { trpc: "UNPROCESSABLE_CONTENT", appCode: "MIME_MISMATCH" },
    message: "does not fit the type image/png",
    run: (a) => initiate(a, { filename: "photo.pdf", mimeType: "image/png", size: 10 }),
  },
  {
    group: "types",
    name: "malformed MIME type",
    attack: 'mimeType "text"',
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "MIME type",
    run: (a) => initiate(a, { filename: "a.txt", mimeType: "text", size: 10 }),
  },
  {
    group: "types",
    name: "spoofed magic bytes: PHP declared as PNG",
    attack: "bytes <?php system($_GET['c']); ?> as cat.png image/png",
    expect: { trpc: "UNPROCESSABLE_CONTENT", appCode: "MIME_MISMATCH" },
    message: "no image/png signature",
    leaves: FAILED,
    run: (a) => uploadAndConfirm(a, Buffer.from("<?php system($_GET['c']); ?>"), "cat.png", "image/png"),
  },
  {
    group: "types",
    name: "spoofed magic bytes: PNG declared as JPEG",
    attack: "a real PNG as photo.jpg image/jpeg",
    expect: { trpc: "UNPROCESSABLE_CONTENT", appCode: "MIME_MISMATCH" },
    message: "the content is image/png",
    leaves: FAILED,
    run: (a) => uploadAndConfirm(a, PNG_1x1, "photo.jpg", "image/jpeg"),
  },
  {
    group: "types",
    name: "Windows executable as generic binary",
    attack: "MZ header bytes as data.bin application/octet-stream",
    expect: { trpc: "UNSUPPORTED_MEDIA_TYPE", appCode: "MIME_NOT_ALLOWED" },
    message: "not accepted",
    leaves: FAILED,
    run: (a) => uploadAndConfirm(a, MZ_EXE, "data.bin", "application/octet-stream"),
  },
  {
    group: "types",
    name: "binary declared as text",
    attack: "bytes with NULs as notes.txt text/plain",
    expect: { trpc: "UNPROCESSABLE_CONTENT", appCode: "MIME_MISMATCH" },
    message: "the content is binary",
    leaves: FAILED,
    run: (a) => uploadAndConfirm(a, Buffer.from("plain\u0000\u0001\u0002 then binary"), "notes.txt", "text/plain"),
  },
  {
    group: "types",
    name: "polyglot GIF/JavaScript",
    attack: "GIF89a header that is also valid JavaScript, as a.gif image/gif",
    // A real GIF by its magic bytes: accepted for scanning, never served inline.
    expect: { ok: true },
    message: '"detectedMime":"image/gif"',
    leaves: { assets: ["UPLOADED"], events: ["INITIATED", "CONFIRMED"], objects: 1 },
    run: (a) => uploadAndConfirm(a, GIF_JS_POLYGLOT, "a.gif", "image/gif"),
    check: servedOnlyAsSandboxedAttachment,
  },
  {
    group: "types",
    name: "SVG with script as generic binary",
    attack: "<svg><script>…</script></svg> as logo.bin application/octet-stream",
    // No magic bytes to contradict the generic type: accepted, served only as a sandboxed attachment.
    expect: { ok: true },
    message: '"detectedMime":"application/octet-stream"',
    leaves: { assets: ["UPLOADED"], events: ["INITIATED", "CONFIRMED"], objects: 1 },
    run: (a) => uploadAndConfirm(a, SVG_SCRIPT, "logo.bin", "application/octet-stream"),
    check: servedOnlyAsSandboxedAttachment,
  },
  {
    group: "types",
    name: "HTML with script as text",
    attack: "<script>…</script> as page.txt text/plain",
    expect: { ok: true },
    message: '"detectedMime":"text/plain"',
    leaves: { assets: ["UPLOADED"], events: ["INITIATED", "CONFIRMED"], objects: 1 },
    run: (a) => uploadAndConfirm(a, Buffer.from("<html><script>alert(1)</script></html>"), "page.txt", "text/plain"),
    check: servedOnlyAsSandboxedAttachment,
  },
];

const sizes: BadInput[] = [
  {
    group: "sizes",
    name: "size 0",
    attack: "size 0",
    expect: { trpc: "BAD_REQUEST", appCode: "FILE_EMPTY" },
    message: "empty",
    run: (a) => initiate(a, text("a.txt", 0)),
  },
  {
    group: "sizes",
    name: "negative size",
    attack: "size -1",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "size",
    run: (a) => initiate(a, text("a.txt", -1)),
  },
  {
    group: "sizes",
    name: "NaN size",
    attack: "size NaN (JSON null on the wire)",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "size",
    run: (a) => initiate(a, text("a.txt", Number.NaN)),
  },
  {
    group: "sizes",
    name: "fractional size",
    attack: "size 1.5",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "size",
    run: (a) => initiate(a, text("a.txt", 1.5)),
  },
  {
    group: "sizes",
    name: "size beyond 2^53",
    attack: "size 2^53 + 2",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "size",
    run: (a) => initiate(a, text("a.txt", 2 ** 53 + 2)),
  },
  {
    group: "sizes",
    name: "size as a string",
    attack: 'size "10"',
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "size",
    run: (a) => initiate(a, { filename: "a.txt", mimeType: "text/plain", size: "10" }),
  },
  {
    group: "sizes",
    name: "over the limit",
    attack: "size UPLOAD_MAX_BYTES + 1",
    expect: { trpc: "PAYLOAD_TOO_LARGE", appCode: "FILE_TOO_LARGE" },
    message: "the limit is",
    run: (a) => initiate(a, { filename: "a.bin", mimeType: "application/octet-stream", size: 100 * 1024 * MiB + 1 }),
  },
  {
    group: "sizes",
    name: "stored bytes fewer than declared",
    attack: "declare 100 bytes, store 60 (written server-side: the store refuses a short signed PUT)",
    expect: { trpc: "UNPROCESSABLE_CONTENT", appCode: "SIZE_MISMATCH" },
    message: "60 bytes but 100 were declared",
    leaves: FAILED,
    run: async (a) => {
      const init = await a.client.upload.initiate.mutate(text("short.txt", 100));
      await a.server.storage.write(init.key, Buffer.alloc(60, "x"), "text/plain");
      return attempt(a.client.upload.confirm.mutate({ assetId: init.assetId }));
    },
  },
  {
    group: "sizes",
    name: "PUT body larger than declared",
    attack: "declare 16 bytes, PUT 5,000 through the signed URL",
    expect: { http: 400 },
    message: "EntityTooLarge",
    leaves: PENDING,
    run: async (a) => {
      const { signed } = await signedPut(a);
      return http(fetch(signed.url, { method: "PUT", headers: signed.headers, body: Buffer.alloc(5000, "a") }));
    },
  },
  {
    group: "sizes",
    name: "confirm with nothing uploaded",
    attack: "initiate then confirm without sending a byte",
    expect: { trpc: "PRECONDITION_FAILED", appCode: "OBJECT_MISSING" },
    message: "no file was uploaded",
    leaves: FAILED,
    run: async (a) => {
      const init = await a.client.upload.initiate.mutate(text("never.txt"));
      return attempt(a.client.upload.confirm.mutate({ assetId: init.assetId }));
    },
  },
  {
    group: "sizes",
    name: "wrong sha256",
    attack: "declare sha256 0…0, upload other bytes",
    expect: { trpc: "UNPROCESSABLE_CONTENT", appCode: "CHECKSUM_MISMATCH" },
    message: "sha256 differs",
    leaves: FAILED,
    run: async (a) => {
      const init = await a.client.upload.initiate.mutate({ ...text("sum.txt", 3), sha256: "0".repeat(64) });
      await sendSigned(a.client, init.assetId, { method: "PUT" }, Buffer.from("abc"));
      return attempt(a.client.upload.confirm.mutate({ assetId: init.assetId }));
    },
  },
];

const parts: BadInput[] = [
  {
    group: "parts",
    name: "never more than 10,000 parts",
    attack: "size 100 GiB with 5 MiB parts (20,480 parts at the configured size)",
    expect: { ok: true },
    message: '"mode":"multipart"',
    leaves: PENDING,
    run: (a) => initiate(a, { filename: "huge.bin", mimeType: "application/octet-stream", size: 100 * 1024 * MiB }),
    check: async (_a, outcome) => {
      const init = (outcome as { value: { partCount: number; partSize: number } }).value;
      expectThat(init.partCount <= 10_000 && init.partCount * init.partSize >= 100 * 1024 * MiB, `≤ 10,000 parts, got ${init.partCount}`);
    },
  },
  {
    group: "parts",
    name: "part number 0",
    attack: "sign PUT partNumber 0",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "partNumber",
    leaves: PENDING,
    run: async (a) => {
      const { init, uploadId } = await startedMultipart(a);
      return attempt(a.client.upload.sign.mutate({ assetId: init.assetId, method: "PUT", uploadId, partNumber: 0 }));
    },
  },
  {
    group: "parts",
    name: "part number 10,001",
    attack: "sign PUT partNumber 10001",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "partNumber",
    leaves: PENDING,
    run: async (a) => {
      const { init, uploadId } = await startedMultipart(a);
      return attempt(a.client.upload.sign.mutate({ assetId: init.assetId, method: "PUT", uploadId, partNumber: 10_001 }));
    },
  },
  {
    group: "parts",
    name: "part number past the file's last part",
    attack: "sign PUT partNumber 3 of a 2-part file",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "between 1 and 2",
    leaves: PENDING,
    run: async (a) => {
      const { init, uploadId } = await startedMultipart(a);
      return attempt(a.client.upload.sign.mutate({ assetId: init.assetId, method: "PUT", uploadId, partNumber: 3 }));
    },
  },
  {
    group: "parts",
    name: "part PUT larger than the part size",
    attack: "PUT 5 MiB + 1 byte to a signed part URL",
    expect: { http: 400 },
    message: "EntityTooLarge",
    leaves: PENDING,
    run: async (a) => {
      const { init, uploadId } = await startedMultipart(a);
      const { res, text: body } = await sendSigned(
        a.client,
        init.assetId,
        { method: "PUT", uploadId, partNumber: 1 },
        Buffer.alloc(5 * MiB + 1),
      );
      return { kind: "http", status: res.status, body };
    },
  },
  {
    group: "parts",
    name: "a foreign uploadId",
    attack: "sign a part for an uploadId of another upload",
    expect: { trpc: "CONFLICT", appCode: "INVALID_STATE" },
    message: "does not belong",
    leaves: PENDING,
    run: async (a) => {
      const { init } = await startedMultipart(a);
      return attempt(a.client.upload.sign.mutate({ assetId: init.assetId, method: "PUT", uploadId: "f".repeat(32), partNumber: 1 }));
    },
  },
  {
    group: "parts",
    name: "a second multipart upload",
    attack: "sign POST (create) again for a started upload",
    expect: { trpc: "CONFLICT", appCode: "INVALID_STATE" },
    message: "already started",
    leaves: PENDING,
    run: async (a) => {
      const { init } = await startedMultipart(a);
      return attempt(a.client.upload.sign.mutate({ assetId: init.assetId, method: "POST" }));
    },
  },
  {
    group: "parts",
    name: "a part number for a single PUT",
    attack: "sign PUT partNumber 1 for a single-PUT upload",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "single PUT",
    leaves: PENDING,
    run: async (a) => {
      const init = await a.client.upload.initiate.mutate(text("one.txt"));
      return attempt(a.client.upload.sign.mutate({ assetId: init.assetId, method: "PUT", partNumber: 1 }));
    },
  },
];

const signatures: BadInput[] = [
  {
    group: "signatures",
    name: "expired URL",
    attack: "a PUT URL validly signed but expired a minute ago",
    expect: { http: 403 },
    message: "RequestExpired",
    leaves: PENDING,
    run: async (a) => {
      const { init, signed, body } = await signedPut(a);
      const past = Date.now() - 120_000;
      const url = signLocalUrl({
        baseUrl: a.server.url,
        secret: localSigningSecret(a.server.env),
        method: "PUT",
        operation: { op: "putObject", key: init.key, contentType: "text/plain", maxBytes: body.length },
        expiresAt: new Date(past + 60_000),
        now: new Date(past),
      });
      return http(fetch(url, { method: "PUT", headers: signed.headers, body }));
    },
  },
  {
    group: "signatures",
    name: "tampered expiry",
    attack: "X-Airlock-Expires pushed a day later",
    expect: { http: 403 },
    message: "SignatureDoesNotMatch",
    leaves: PENDING,
    run: async (a) => {
      const { signed, body } = await signedPut(a);
      const url = tamper(signed.url, (u) => u.searchParams.set("X-Airlock-Expires", String(Math.floor(Date.now() / 1000) + 86_400)));
      return http(fetch(url, { method: "PUT", headers: signed.headers, body }));
    },
  },
  {
    group: "signatures",
    name: "tampered key",
    attack: "the signed path changed to another file name of the same asset",
    expect: { http: 403 },
    message: "SignatureDoesNotMatch",
    leaves: PENDING,
    run: async (a) => {
      const { signed, body } = await signedPut(a);
      const url = tamper(signed.url, (u) => {
        u.pathname = u.pathname.replace(/victim\.txt$/, "other.txt");
      });
      return http(fetch(url, { method: "PUT", headers: signed.headers, body }));
    },
  },
  {
    group: "signatures",
    name: "replayed for another asset",
    attack: "a PUT URL of one asset with the path of another of the attacker's assets",
    expect: { http: 403 },
    message: "SignatureDoesNotMatch",
    leaves: { assets: ["PENDING_UPLOAD", "PENDING_UPLOAD"], events: ["INITIATED", "INITIATED"] },
    run: async (a) => {
      const first = await signedPut(a);
      const second = await a.client.upload.initiate.mutate(text("victim.txt", 16));
      const url = tamper(first.signed.url, (u) => {
        u.pathname = u.pathname.replace(first.init.assetId, second.assetId);
      });
      return http(fetch(url, { method: "PUT", headers: first.signed.headers, body: first.body }));
    },
  },
  {
    group: "signatures",
    name: "tampered size limit",
    attack: "X-Airlock-Max raised to 1 GiB, then a bigger body",
    expect: { http: 403 },
    message: "SignatureDoesNotMatch",
    leaves: PENDING,
    run: async (a) => {
      const { signed } = await signedPut(a);
      const url = tamper(signed.url, (u) => u.searchParams.set("X-Airlock-Max", String(1024 * MiB)));
      return http(fetch(url, { method: "PUT", headers: signed.headers, body: Buffer.alloc(64, "a") }));
    },
  },
  {
    group: "signatures",
    name: "tampered part number",
    attack: "partNumber=1 rewritten to 2 on a signed part URL",
    expect: { http: 403 },
    message: "SignatureDoesNotMatch",
    leaves: PENDING,
    run: async (a) => {
      const { init, uploadId } = await startedMultipart(a);
      const signed = await a.client.upload.sign.mutate({ assetId: init.assetId, method: "PUT", uploadId, partNumber: 1 });
      const url = tamper(signed.url, (u) => u.searchParams.set("partNumber", "2"));
      return http(fetch(url, { method: "PUT", headers: signed.headers, body: Buffer.alloc(1024) }));
    },
  },
  {
    group: "signatures",
    name: "tampered method",
    attack: "a signed PUT URL called with POST",
    expect: { http: 405 },
    message: "MethodNotAllowed",
    leaves: PENDING,
    run: async (a) => {
      const { signed, body } = await signedPut(a);
      return http(fetch(signed.url, { method: "POST", headers: signed.headers, body }));
    },
  },
  {
    group: "signatures",
    name: "tampered operation",
    attack: "X-Airlock-Op putObject rewritten to getObject, called with GET",
    expect: { http: 403 },
    // Refused before the HMAC is even computed: a getObject URL must carry its download name and type.
    message: /AccessDenied|SignatureDoesNotMatch/,
    leaves: PENDING,
    run: async (a) => {
      const { signed } = await signedPut(a);
      return http(fetch(tamper(signed.url, (u) => u.searchParams.set("X-Airlock-Op", "getObject"))));
    },
  },
  {
    group: "signatures",
    name: "signed content type bypassed",
    attack: "a text/plain PUT URL sent with Content-Type text/html",
    expect: { http: 403 },
    message: "Content-Type",
    leaves: PENDING,
    run: async (a) => {
      const { signed, body } = await signedPut(a);
      return http(fetch(signed.url, { method: "PUT", headers: { ...signed.headers, "content-type": "text/html" }, body }));
    },
  },
  {
    group: "signatures",
    name: "unsigned",
    attack: "the storage path with no query string",
    expect: { http: 403 },
    message: "AccessDenied",
    leaves: PENDING,
    run: async (a) => {
      const { signed, body } = await signedPut(a);
      return http(fetch(signed.url.split("?")[0] ?? "", { method: "PUT", headers: signed.headers, body }));
    },
  },
  {
    group: "signatures",
    name: "a quarantine key",
    attack: "a signed URL's path rewritten from uploads/ to quarantine/",
    expect: { http: 403 },
    // Refused before the HMAC: no URL outside uploads/ is valid, whatever its signature.
    message: "AccessDenied",
    leaves: PENDING,
    run: async (a) => {
      const { signed, body } = await signedPut(a);
      return http(fetch(signed.url.replace("/storage/uploads/", "/storage/quarantine/"), { method: "PUT", headers: signed.headers, body }));
    },
  },
  {
    group: "signatures",
    name: "a traversal in the storage path",
    attack: "GET /storage/uploads/%2e%2e/%2e%2e/quarantine/… sent verbatim, with a valid signature for another key",
    // The request URL is resolved before routing: the dot segments climb out of /storage altogether.
    expect: { http: 404 },
    message: "no route for GET /quarantine/",
    leaves: PENDING,
    run: async (a) => {
      const { signed } = await signedPut(a);
      // node:http sends the path as written; fetch would resolve the dot segments before sending.
      const url = signed.url.replace("/storage/uploads/", "/storage/uploads/%2e%2e/%2e%2e/quarantine/");
      return rawHttp(url, {});
    },
  },
  {
    group: "signatures",
    name: "single PUT replayed after confirm",
    attack: "the confirmed upload's PUT URL sent again with other bytes",
    // The store still takes the bytes (an S3 presigned URL cannot be revoked), but at the old key:
    // the confirmed object, which is checked, scanned and served, is untouched.
    expect: { http: 200 },
    message: "",
    leaves: { assets: ["UPLOADED"], events: ["INITIATED", "CONFIRMED"], objects: 2 },
    run: async (a) => {
      const { init, signed, body } = await signedPut(a);
      await fetch(signed.url, { method: "PUT", headers: signed.headers, body });
      await a.client.upload.confirm.mutate({ assetId: init.assetId });
      return http(fetch(signed.url, { method: "PUT", headers: signed.headers, body: Buffer.alloc(body.length, "!") }));
    },
    check: async (a) => {
      const [asset] = await a.server.db.asset.findMany({ where: { ownerId: a.userId } });
      const stored = await a.server.storage.readRange(asset?.storageKey ?? "", 0, 100);
      expectThat(stored.equals(Buffer.alloc(16, "a")), "the confirmed object to keep the checked bytes");
    },
  },
];

/** Every upload.* procedure that takes an asset id, called on the victim's asset. */
const crossUser: BadInput[] = (
  [
    ["sign", (c, assetId) => c.upload.sign.mutate({ assetId, method: "PUT" })],
    ["confirm", (c, assetId) => c.upload.confirm.mutate({ assetId })],
    ["status", (c, assetId) => c.upload.status.query({ assetId })],
    ["get", (c, assetId) => c.upload.get.query({ assetId })],
    ["thumbnail", (c, assetId) => c.upload.thumbnail.query({ assetId })],
    ["downloadUrl", (c, assetId) => c.upload.downloadUrl.mutate({ assetId })],
    ["delete", (c, assetId) => c.upload.delete.mutate({ assetId })],
  ] as Array<[string, (c: Client, assetId: string) => Promise<unknown>]>
).map(([procedure, call]) => ({
  group: "auth" as const,
  name: `another user's asset: upload.${procedure}`,
  attack: `upload.${procedure} with the id of another user's asset`,
  expect: { trpc: "NOT_FOUND", appCode: "NOT_FOUND" },
  message: "no such upload",
  run: (a: Attacker) => attempt(call(a.client, a.victim.assetId)),
}));

const auth: BadInput[] = [
  {
    group: "auth",
    name: "no key",
    attack: "upload.initiate without Authorization",
    expect: { trpc: "UNAUTHORIZED", appCode: "UNAUTHORIZED" },
    message: "API key is required",
    run: (a) => attempt(a.server.client().upload.initiate.mutate(text("a.txt"))),
  },
  {
    group: "auth",
    name: "malformed key",
    attack: "Authorization: Bearer not-a-key",
    expect: { trpc: "UNAUTHORIZED", appCode: "UNAUTHORIZED" },
    message: "invalid or has been revoked",
    run: (a) => attempt(a.server.client("not-a-key").upload.initiate.mutate(text("a.txt"))),
  },
  {
    group: "auth",
    name: "revoked key",
    attack: "the attacker's own key, revoked, then upload.initiate",
    expect: { trpc: "UNAUTHORIZED", appCode: "UNAUTHORIZED" },
    message: "invalid or has been revoked",
    run: async (a) => {
      await a.server.db.apiKey.update({ where: { id: a.keyId }, data: { revokedAt: new Date() } });
      return attempt(a.client.upload.initiate.mutate(text("a.txt")));
    },
  },
  ...crossUser,
  {
    group: "auth",
    name: "another user's uploads listed",
    attack: "upload.list with ownerId of another user",
    expect: { trpc: "FORBIDDEN", appCode: "FORBIDDEN" },
    message: "only administrators",
    run: async (a) => {
      const victim = await a.server.db.asset.findUniqueOrThrow({ where: { id: a.victim.assetId } });
      return attempt(a.client.upload.list.query({ ownerId: victim.ownerId }));
    },
  },
  {
    group: "auth",
    name: "non-admin on an admin procedure",
    attack: "analytics.metrics with a user's key",
    expect: { trpc: "FORBIDDEN", appCode: "FORBIDDEN" },
    message: "administrator",
    run: (a) => attempt(a.client.analytics.metrics.query({})),
  },
  {
    group: "auth",
    name: "non-admin on the admin REST API",
    attack: "GET /api/admin/analytics/uploads with a user's key",
    expect: { http: 403 },
    message: "FORBIDDEN",
    run: (a) => http(fetch(`${a.server.url}/api/admin/analytics/uploads`, { headers: { authorization: `Bearer ${a.key}` } })),
  },
  {
    group: "auth",
    name: "non-admin cleanup through REST",
    attack: "POST /api/admin/uploads/cleanup with a user's key",
    expect: { http: 403 },
    message: "FORBIDDEN",
    run: (a) =>
      http(
        fetch(`${a.server.url}/api/admin/uploads/cleanup`, {
          method: "POST",
          headers: { authorization: `Bearer ${a.key}`, "content-type": "application/json" },
          body: JSON.stringify({ dryRun: false }),
        }),
      ),
  },
];

const payloads: BadInput[] = [
  {
    group: "payloads",
    name: "malformed JSON",
    attack: 'POST /trpc/upload.initiate with body "{not json"',
    expect: { http: 400 },
    message: "BAD_REQUEST",
    run: (a) => rawTrpc(a, "upload.initiate", "{not json"),
  },
  {
    group: "payloads",
    name: "body over BODY_LIMIT_BYTES",
    attack: "a 1 MiB filename in the JSON body",
    expect: { http: 413 },
    message: "larger than",
    run: (a) => rawTrpc(a, "upload.initiate", JSON.stringify({ filename: `${"x".repeat(MiB)}.txt`, mimeType: "text/plain", size: 1 })),
  },
  {
    group: "payloads",
    name: "wrong types",
    attack: "filename 42, mimeType [], size {}",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "filename",
    run: (a) => initiate(a, { filename: 42, mimeType: [], size: {} }),
  },
  {
    group: "payloads",
    name: "extra field choosing the key",
    attack: 'initiate with key "uploads/someone-else/x"',
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "key",
    run: (a) => initiate(a, { ...text("a.txt"), key: "uploads/someone-else/x" }),
  },
  {
    group: "payloads",
    name: "asset id that is not a UUID",
    attack: 'upload.confirm { assetId: "../../admin" }',
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "assetId",
    run: (a) => attempt(a.client.upload.confirm.mutate({ assetId: "../../admin" })),
  },
  {
    group: "payloads",
    name: "malformed sha256",
    attack: 'sha256 "xyz"',
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "64 hex",
    run: (a) => initiate(a, { ...text("a.txt"), sha256: "xyz" }),
  },
  {
    group: "payloads",
    name: "malformed list cursor",
    attack: 'upload.list { cursor: "not-base64|x" }',
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "invalid cursor",
    run: (a) => attempt(a.client.upload.list.query({ cursor: "not-base64|x" })),
  },
  {
    group: "payloads",
    name: "oversized header",
    attack: "Authorization header of 64 KiB",
    expect: { http: 431 },
    message: "",
    run: (a) => rawHttp(`${a.server.url}/trpc/upload.list`, { authorization: `Bearer ${"k".repeat(64 * 1024)}` }),
  },
];

/**
 * Administrators' inputs that are still refused: reversed or huge ranges, webhooks aimed inside the
 * network. Run with the attacker promoted, so the refusal is about the input, not the role.
 */
export const adminPayloads: BadInput[] = [
  {
    group: "payloads",
    name: "date range reversed",
    attack: "analytics.metrics from 2026-02-01 to 2026-01-01",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "is after",
    run: (a) => attempt(a.client.analytics.metrics.query({ from: "2026-02-01", to: "2026-01-01" })),
  },
  {
    group: "payloads",
    name: "date range too long",
    attack: "analytics.metrics over ten years",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "at most 366",
    run: (a) => attempt(a.client.analytics.metrics.query({ from: "2016-01-01", to: "2026-01-01" })),
  },
  {
    group: "payloads",
    name: "webhook on a private address",
    attack: "webhooks.create http://169.254.169.254/latest/meta-data (cloud metadata)",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "private or reserved",
    run: (a) => attempt(a.client.webhooks.create.mutate({ url: "http://169.254.169.254/latest/meta-data", events: [] })),
  },
  {
    group: "payloads",
    name: "webhook on loopback",
    attack: "webhooks.create http://127.0.0.1:6379/ (the local Redis)",
    expect: { trpc: "BAD_REQUEST", appCode: "BAD_REQUEST" },
    message: "private or reserved",
    run: (a) => attempt(a.client.webhooks.create.mutate({ url: "http://127.0.0.1:6379/", events: [] })),
  },
];

export const badInputs: BadInput[] = [...names, ...types, ...sizes, ...parts, ...signatures, ...auth, ...payloads];
