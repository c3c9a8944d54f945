import { randomBytes } from "node:crypto";
import type { TRPCClient } from "@trpc/client";
import type { AppRouter } from "./root.ts";

/**
 * Uploads the way an integrator does with the typed client: initiate, then each storage call signed
 * by `upload.sign` and sent straight to storage, then confirm. Counts the part PUTs it sends, so
 * tests can assert that a resume re-sends nothing.
 */
type Client = TRPCClient<AppRouter>;

export interface UploadTrace {
  assetId: string;
  partsSent: number[];
}

export async function sendSigned(
  client: Client,
  assetId: string,
  call: { method: "GET" | "PUT" | "POST" | "DELETE"; uploadId?: string; partNumber?: number },
  body?: RequestInit["body"],
) {
  const signed = await client.upload.sign.mutate({ assetId, ...call });
  const res = await fetch(signed.url, { method: signed.method, headers: signed.headers, body, duplex: "half" } as RequestInit);
  return { res, text: await res.text() };
}

/**
 * Random bytes behind a plain-text lead, so magic-byte detection never mistakes a test payload for a
 * real format (raw random bytes start with e.g. `1f 9d`, compress's magic, once in 65,536 files).
 */
export function opaqueBytes(size: number): Buffer {
  const bytes = randomBytes(size);
  bytes.write("airlock opaque test payload\n".slice(0, size), 0, "latin1");
  return bytes;
}

function xmlValues(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, "g"))].map((m) => m[1] ?? "");
}

export async function startUpload(client: Client, bytes: Buffer, input: { filename: string; mimeType: string; sha256?: string }) {
  return client.upload.initiate.mutate({ ...input, size: bytes.length });
}

/** Sends the bytes of an initiated upload. `stopAfterParts` simulates a client that crashes mid-way. */
export async function sendBytes(
  client: Client,
  bytes: Buffer,
  init: { assetId: string; mode: "single" | "multipart"; partSize: number | null },
  options: { stopAfterParts?: number; resume?: boolean } = {},
) {
  const trace: UploadTrace = { assetId: init.assetId, partsSent: [] };
  if (init.mode === "single") {
    const { res, text } = await sendSigned(client, init.assetId, { method: "PUT" }, bytes);
    if (!res.ok) throw new Error(`PUT failed: ${res.status} ${text}`);
    return { trace, uploadId: undefined };
  }
  let uploadId: string;
  const done = new Map<number, string>();
  if (options.resume) {
    // A client that lost everything but the asset id (a reload, a crash) asks the API for the uploadId.
    const asset = await client.upload.get.query({ assetId: init.assetId });
    if (!asset.uploadId || asset.status !== "PENDING_UPLOAD") throw new Error("cannot resume");
    uploadId = asset.uploadId;
    const { text } = await sendSigned(client, init.assetId, { method: "GET", uploadId });
    const numbers = xmlValues(text, "PartNumber");
    const etags = xmlValues(text, "ETag");
    for (const [i, n] of numbers.entries()) done.set(Number(n), etags[i] ?? "");
  } else {
    const { res, text } = await sendSigned(client, init.assetId, { method: "POST" });
    if (!res.ok) throw new Error(`create failed: ${res.status} ${text}`);
    uploadId = xmlValues(text, "UploadId")[0] ?? "";
  }
  const partSize = init.partSize ?? bytes.length;
  const count = Math.ceil(bytes.length / partSize);
  for (let part = 1; part <= count; part++) {
    if (done.has(part)) continue;
    if (options.stopAfterParts !== undefined && trace.partsSent.length >= options.stopAfterParts) return { trace, uploadId };
    const { res, text } = await sendSigned(
      client,
      init.assetId,
      { method: "PUT", uploadId, partNumber: part },
      bytes.subarray((part - 1) * partSize, part * partSize),
    );
    if (!res.ok) throw new Error(`part ${part} failed: ${res.status} ${text}`);
    done.set(part, res.headers.get("etag") ?? "");
    trace.partsSent.push(part);
  }
  const xml = `<CompleteMultipartUpload>${[...done.entries()]
    .sort(([a], [b]) => a - b)
    .map(([n, etag]) => `<Part><PartNumber>${n}</PartNumber><ETag>${etag}</ETag></Part>`)
    .join("")}</CompleteMultipartUpload>`;
  const { res, text } = await sendSigned(client, init.assetId, { method: "POST", uploadId }, xml);
  if (!res.ok || text.includes("<Error>")) throw new Error(`complete failed: ${res.status} ${text}`);
  return { trace, uploadId };
}

export async function uploadFile(client: Client, bytes: Buffer, input: { filename: string; mimeType: string; sha256?: string }) {
  const init = await startUpload(client, bytes, input);
  const { trace } = await sendBytes(client, bytes, init);
  const asset = await client.upload.confirm.mutate({ assetId: init.assetId });
  return { init, trace, asset };
}
