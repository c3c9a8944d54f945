import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getRequestListener } from "@hono/node-server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SignedOperation, SignedRequest } from "./driver.ts";
import { LocalStorageDriver, MIN_PART_BYTES } from "./local.ts";
import { createLocalStorageHandler, parseCompleteMultipartXml } from "./local-server.ts";
import { PARAM } from "./local-signing.ts";

/**
 * The /storage handler on a real node:http server (via @hono/node-server, as the API mounts it), against a
 * temp data dir. Needs no external service, hence a unit test.
 */

const secret = "k".repeat(48);
let dataDir: string;
let server: Server;
let driver: LocalStorageDriver;
/** The handler's clock; tests move it to expire URLs. */
let clockOffsetMs = 0;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "airlock-local-server-"));
  let handler: ((request: Request) => Promise<Response>) | undefined;
  server = createServer(getRequestListener((request) => handler!(request)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  driver = new LocalStorageDriver({ dataDir, publicUrl: `http://127.0.0.1:${port}`, secret });
  handler = createLocalStorageHandler(driver, { secret, now: () => new Date(Date.now() + clockOffsetMs) });
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  clockOffsetMs = 0;
});

let assetCounter = 0;
function newKey(name = "file.bin"): string {
  return `uploads/user-1/asset-${++assetCounter}/${name}`;
}

const sign = (operation: SignedOperation, ttl = 300) => driver.sign(operation, ttl);

async function send(signed: SignedRequest, body?: RequestInit["body"], extraHeaders: Record<string, string> = {}): Promise<Response> {
  return fetch(signed.url, {
    method: signed.method,
    headers: { ...signed.headers, ...extraHeaders },
    ...(body === undefined ? {} : { body }),
  });
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function md5(data: Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

/** `<Tag>value</Tag>` values, in order. */
function tags(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, "g"))].map((m) => m[1]!);
}

async function expectS3Error(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  // Exactly application/xml: Uppy reads the error code only then.
  expect(response.headers.get("content-type")).toBe("application/xml");
  const body = await response.text();
  expect(tags(body, "Code")).toEqual([code]);
  expect(body).toMatch(/<Message>[^<]+<\/Message>/);
}

/** Everything under a data-dir folder, recursively (files only, relative paths). */
async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(join(dataDir, folder), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name).slice(join(dataDir, folder).length + 1));
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function createUpload(key: string, partBytes?: number): Promise<string> {
  const response = await send(
    await sign({ op: "createMultipart", key, contentType: "application/octet-stream", ...(partBytes !== undefined && { partBytes }) }),
  );
  expect(response.status).toBe(200);
  const body = await response.text();
  expect(body).toContain("<InitiateMultipartUploadResult");
  expect(tags(body, "Bucket")).toEqual(["local"]);
  expect(tags(body, "Key")).toEqual([key]);
  const [uploadId] = tags(body, "UploadId");
  expect(uploadId).toMatch(/^[0-9a-f]{32}$/);
  return uploadId!;
}

async function putPart(key: string, uploadId: string, partNumber: number, bytes: Uint8Array, maxBytes = bytes.length): Promise<string> {
  const response = await send(await sign({ op: "uploadPart", key, uploadId, partNumber, maxBytes }), bytes);
  expect(response.status).toBe(200);
  const etag = response.headers.get("etag");
  // An opaque token (quoted, as S3 answers), not the MD5 of the bytes: nothing is hashed without Content-MD5.
  expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
  expect(etag).not.toBe(`"${md5(bytes)}"`);
  return etag!;
}

function completeXml(parts: Array<{ partNumber: number; etag: string }>): string {
  // Uppy's shape: no declaration, ETags as the client holds them.
  return `<CompleteMultipartUpload>${parts.map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${p.etag}</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
}

describe("local /storage handler", () => {
  it("single PUT, then getObject returns the bytes with safe download headers", async () => {
    const key = newKey("report.pdf");
    const bytes = randomBytes(300_000);
    const put = await send(await sign({ op: "putObject", key, contentType: "application/pdf", maxBytes: bytes.length }), bytes);
    expect(put.status).toBe(200);
    expect(put.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);
    expect(await driver.head(key)).toMatchObject({ size: bytes.length });

    const get = await send(await sign({ op: "getObject", key, filename: "Relevé «final».pdf", contentType: "application/pdf" }));
    expect(get.status).toBe(200);
    expect(get.headers.get("content-type")).toBe("application/pdf");
    expect(get.headers.get("content-length")).toBe(String(bytes.length));
    expect(get.headers.get("content-disposition")).toBe(
      `attachment; filename="Relev_ _final_.pdf"; filename*=UTF-8''Relev%C3%A9%20%C2%ABfinal%C2%BB.pdf`,
    );
    expect(get.headers.get("x-content-type-options")).toBe("nosniff");
    expect(get.headers.get("content-security-policy")).toBe("sandbox");
    expect(get.headers.get("cache-control")).toBe("private, no-store");
    expect(sha256(new Uint8Array(await get.arrayBuffer()))).toBe(sha256(bytes));
  });

  it("refuses a PUT with another content type than the signed one", async () => {
    const key = newKey();
    const signed = await sign({ op: "putObject", key, contentType: "image/png", maxBytes: 10 });
    await expectS3Error(await send(signed, "0123456789", { "content-type": "text/html" }), 403, "SignatureDoesNotMatch");
    // A charset parameter (browsers add one to strings) is not a different type.
    expect((await send(signed, "0123456789", { "content-type": "image/png; charset=UTF-8" })).status).toBe(200);
  });

  it("multipart: 3 parts of 5 MiB+, list, complete; the object is the source, byte for byte", async () => {
    const key = newKey("big.bin");
    const source = randomBytes(3 * MIN_PART_BYTES + 12_345);
    const cut = [0, MIN_PART_BYTES + 1000, 2 * MIN_PART_BYTES + 5000, source.length];
    const chunks = [0, 1, 2].map((i) => source.subarray(cut[i]!, cut[i + 1]!));
    const uploadId = await createUpload(key);
    // Uploaded out of order and in parallel, as Uppy does.
    const etags = await Promise.all(chunks.map((chunk, i) => putPart(key, uploadId, i + 1, chunk)));

    const list = await send(await sign({ op: "listParts", key, uploadId }));
    expect(list.status).toBe(200);
    const listXml = await list.text();
    expect(listXml).toContain("<ListPartsResult");
    expect(tags(listXml, "PartNumber")).toEqual(["1", "2", "3"]);
    expect(tags(listXml, "Size")).toEqual(chunks.map((c) => String(c.length)));
    expect(tags(listXml, "ETag").map((e) => e.replaceAll("&quot;", '"'))).toEqual(etags);
    for (const modified of tags(listXml, "LastModified")) expect(Number.isNaN(Date.parse(modified))).toBe(false);

    // Uppy strips the quotes from part ETags before completing.
    const parts = etags.map((etag, i) => ({ partNumber: i + 1, etag: etag.replaceAll('"', "") }));
    const complete = await send(await sign({ op: "completeMultipart", key, uploadId }), completeXml(parts), {
      "content-type": "application/xml",
    });
    expect(complete.status).toBe(200);
    const completeBody = await complete.text();
    expect(tags(completeBody, "Location")).toEqual([driver.objectUrl(key)]);
    expect(tags(completeBody, "Bucket")).toEqual(["local"]);
    expect(tags(completeBody, "Key")).toEqual([key]);
    // S3's format: MD5 of the binary part ETags, then the count.
    const expectedEtag = `${createHash("md5")
      .update(Buffer.concat(etags.map((e) => Buffer.from(e.replaceAll('"', ""), "hex"))))
      .digest("hex")}-3`;
    expect(tags(completeBody, "ETag")).toEqual([`&quot;${expectedEtag}&quot;`]);

    const get = await send(await sign({ op: "getObject", key, filename: "big.bin", contentType: "application/octet-stream" }));
    expect(sha256(new Uint8Array(await get.arrayBuffer()))).toBe(sha256(source));
    expect(await filesUnder("multipart")).toEqual([]);
    expect(await filesUnder("tmp")).toEqual([]);
    // Completing again: the upload no longer exists.
    await expectS3Error(await send(await sign({ op: "completeMultipart", key, uploadId }), completeXml(parts)), 404, "NoSuchUpload");
  }, 30_000);

  it("multipart as the API signs it (with the part size): assembled in place; a part during completion is 503 SlowDown (retried by clients)", async () => {
    const key = newKey("big.bin");
    const partBytes = MIN_PART_BYTES + 4096;
    const source = randomBytes(2 * partBytes + 777);
    const uploadId = await createUpload(key, partBytes);
    const chunks = [0, 1, 2].map((i) => source.subarray(i * partBytes, (i + 1) * partBytes));
    const etags = await Promise.all(chunks.map((chunk, i) => putPart(key, uploadId, i + 1, chunk, partBytes)));
    expect((await filesUnder(join("multipart", uploadId))).sort()).toEqual(["data", "meta"]);

    // Another process is completing this upload: a part now is refused, retryably.
    await mkdir(join(dataDir, "leases"), { recursive: true });
    await symlink("other-space:1:0:x", join(dataDir, "leases", `${uploadId}.complete`));
    const refused = await send(await sign({ op: "uploadPart", key, uploadId, partNumber: 3, maxBytes: partBytes }), chunks[2]!);
    expect(refused.headers.get("retry-after")).toBe("1");
    await expectS3Error(refused, 503, "SlowDown");
    await rm(join(dataDir, "leases", `${uploadId}.complete`));

    const parts = etags.map((etag, i) => ({ partNumber: i + 1, etag }));
    const complete = await send(await sign({ op: "completeMultipart", key, uploadId }), completeXml(parts));
    expect(complete.status).toBe(200);
    expect(await filesUnder("tmp")).toEqual([]);
    const get = await send(await sign({ op: "getObject", key, filename: "big.bin", contentType: "application/octet-stream" }));
    expect(sha256(new Uint8Array(await get.arrayBuffer()))).toBe(sha256(source));
  }, 30_000);

  it("Content-MD5 is verified when sent: a match answers that MD5 as the ETag, a mismatch is BadDigest and stores nothing", async () => {
    const key = newKey();
    const bytes = randomBytes(70_000);
    const base64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");
    const signed = await sign({ op: "putObject", key, contentType: "application/octet-stream", maxBytes: bytes.length });
    await expectS3Error(await send(signed, bytes, { "content-md5": base64(md5(randomBytes(8))) }), 400, "BadDigest");
    await expectS3Error(await send(signed, bytes, { "content-md5": "not-base64" }), 400, "InvalidDigest");
    await expectS3Error(await send(signed, bytes, { "content-md5": md5(bytes) }), 400, "InvalidDigest"); // hex, not base64
    expect(await driver.head(key)).toBeNull();
    expect(await filesUnder("tmp")).toEqual([]);
    const put = await send(signed, bytes, { "content-md5": base64(md5(bytes)) });
    expect(put.status).toBe(200);
    expect(put.headers.get("etag")).toBe(`"${md5(bytes)}"`);

    const uploadId = await createUpload(key);
    const partUrl = await sign({ op: "uploadPart", key, uploadId, partNumber: 1, maxBytes: bytes.length });
    await expectS3Error(await send(partUrl, bytes, { "content-md5": base64(md5(bytes.subarray(1))) }), 400, "BadDigest");
    expect(await driver.listParts(key, uploadId)).toEqual([]);
    const part = await send(partUrl, bytes, { "content-md5": base64(md5(bytes)) });
    expect(part.headers.get("etag")).toBe(`"${md5(bytes)}"`);
    const list = await send(await sign({ op: "listParts", key, uploadId }));
    expect(tags(await list.text(), "ETag")).toEqual([`&quot;${md5(bytes)}&quot;`]);
    expect(await filesUnder("tmp")).toEqual([]);
  });

  it("a part upload interrupted halfway leaves no part and no temp file", async () => {
    const key = newKey();
    const uploadId = await createUpload(key);
    const signed = await sign({ op: "uploadPart", key, uploadId, partNumber: 1, maxBytes: 8 * 1024 * 1024 });
    const url = new URL(signed.url);
    let sawTempFile = false;
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        method: "PUT",
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        headers: { "content-length": 8 * 1024 * 1024 },
      });
      req.on("error", () => resolve()); // the abort below
      req.write(randomBytes(4 * 1024 * 1024), () => {
        // Once the server is writing its temp file, drop the connection.
        eventually(async () => (await filesUnder("tmp")).length === 1).then(() => {
          sawTempFile = true;
          req.destroy();
          resolve();
        }, resolve);
      });
    });
    expect(sawTempFile).toBe(true);
    await eventually(async () => (await filesUnder("tmp")).length === 0);
    expect(await filesUnder(join("multipart", uploadId))).toEqual(["meta"]);
    const list = await send(await sign({ op: "listParts", key, uploadId }));
    expect(tags(await list.text(), "Part")).toEqual([]);
  });

  it("a PUT over the signed maximum is refused and leaves nothing", async () => {
    const key = newKey();
    const signed = await sign({ op: "putObject", key, contentType: "application/octet-stream", maxBytes: 1000 });
    // Declared too large: refused before reading.
    await expectS3Error(await send(signed, randomBytes(1001)), 400, "EntityTooLarge");
    // Not declared (chunked): refused as soon as the count passes the limit.
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(randomBytes(400));
        controller.close();
      },
    });
    const response = await fetch(signed.url, { method: "PUT", headers: signed.headers, body: chunked, duplex: "half" } as RequestInit);
    await expectS3Error(response, 400, "EntityTooLarge");
    expect(await driver.head(key)).toBeNull();
    expect(await filesUnder("tmp")).toEqual([]);
    expect(await filesUnder("objects")).not.toContain(key.slice("uploads/".length));
    // Exactly the maximum is fine.
    expect((await send(signed, randomBytes(1000))).status).toBe(200);
  });

  it("a part over its maximum is refused and not listed", async () => {
    const key = newKey();
    const uploadId = await createUpload(key);
    const signed = await sign({ op: "uploadPart", key, uploadId, partNumber: 1, maxBytes: 100 });
    await expectS3Error(await send(signed, randomBytes(101)), 400, "EntityTooLarge");
    expect(await driver.listParts(key, uploadId)).toEqual([]);
  });

  describe("refuses URLs that were not signed for this call", () => {
    it("tampered signature, key or limit", async () => {
      const key = newKey();
      const signed = await sign({ op: "putObject", key, contentType: "text/plain", maxBytes: 5 });
      const url = new URL(signed.url);
      const sig = url.searchParams.get(PARAM.signature)!;
      url.searchParams.set(PARAM.signature, `${sig.slice(0, -1)}${sig.endsWith("0") ? "1" : "0"}`);
      await expectS3Error(await send({ ...signed, url: url.toString() }, "hello"), 403, "SignatureDoesNotMatch");

      const bigger = new URL(signed.url);
      bigger.searchParams.set(PARAM.maxBytes, "1000000");
      await expectS3Error(await send({ ...signed, url: bigger.toString() }, "hello"), 403, "SignatureDoesNotMatch");

      const otherKey = signed.url.replace(`/asset-${assetCounter}/`, "/asset-999999/");
      await expectS3Error(await send({ ...signed, url: otherKey }, "hello"), 403, "SignatureDoesNotMatch");
      expect(await driver.head(key)).toBeNull();
    });

    it("expired", async () => {
      const signed = await sign({ op: "putObject", key: newKey(), contentType: "text/plain", maxBytes: 5 }, 60);
      clockOffsetMs = 61_000;
      await expectS3Error(await send(signed, "hello"), 403, "RequestExpired");
    });

    it("replayed for another part or with another method", async () => {
      const key = newKey();
      const uploadId = await createUpload(key);
      const part1 = await sign({ op: "uploadPart", key, uploadId, partNumber: 1, maxBytes: 10 });
      const asPart2 = new URL(part1.url);
      asPart2.searchParams.set("partNumber", "2");
      await expectS3Error(await send({ ...part1, url: asPart2.toString() }, "0123456789"), 403, "SignatureDoesNotMatch");
      // A part URL used to read, or a download URL used to write.
      await expectS3Error(await fetch(part1.url, { method: "GET" }), 405, "MethodNotAllowed");
      const download = await sign({ op: "getObject", key, filename: "x", contentType: "text/plain" });
      await expectS3Error(await fetch(download.url, { method: "PUT", body: "x" }), 405, "MethodNotAllowed");
      expect(await driver.listParts(key, uploadId)).toEqual([]);
    });

    it("no signature at all, or another method", async () => {
      const base = driver.objectUrl(newKey());
      await expectS3Error(await fetch(base), 403, "AccessDenied");
      await expectS3Error(await fetch(base, { method: "PATCH", body: "x" }), 405, "MethodNotAllowed");
    });
  });

  it("a part for an unknown upload is NoSuchUpload", async () => {
    const key = newKey();
    const signed = await sign({ op: "uploadPart", key, uploadId: "ab".repeat(16), partNumber: 1, maxBytes: 10 });
    await expectS3Error(await send(signed, "0123456789"), 404, "NoSuchUpload");
    expect(await filesUnder("tmp")).toEqual([]);
  });

  it("complete refuses a wrong ETag, a wrong order and malformed XML", async () => {
    const key = newKey();
    const uploadId = await createUpload(key);
    const first = randomBytes(MIN_PART_BYTES);
    const e1 = await putPart(key, uploadId, 1, first);
    const e2 = await putPart(key, uploadId, 2, randomBytes(10));
    const completeUrl = await sign({ op: "completeMultipart", key, uploadId });

    const wrong = completeXml([
      { partNumber: 1, etag: e1 },
      { partNumber: 2, etag: `"${"0".repeat(32)}"` },
    ]);
    await expectS3Error(await send(completeUrl, wrong), 400, "InvalidPart");
    const reversed = completeXml([
      { partNumber: 2, etag: e2 },
      { partNumber: 1, etag: e1 },
    ]);
    await expectS3Error(await send(completeUrl, reversed), 400, "InvalidPartOrder");
    await expectS3Error(
      await send(completeUrl, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>"),
      400,
      "MalformedXML",
    );
    await expectS3Error(await send(completeUrl, "x".repeat(1024 * 1024 + 1)), 400, "MaxMessageLengthExceeded");
    // Nothing was assembled, and the parts are still there for a correct completion.
    expect(await driver.head(key)).toBeNull();
    expect(await filesUnder("tmp")).toEqual([]);
    const ok = await send(
      completeUrl,
      completeXml([
        { partNumber: 1, etag: e1 },
        { partNumber: 2, etag: e2 },
      ]),
    );
    expect(ok.status).toBe(200);
    expect(await driver.head(key)).toMatchObject({ size: MIN_PART_BYTES + 10 });
  }, 20_000);

  it("abort removes the parts; the upload is then gone", async () => {
    const key = newKey();
    const uploadId = await createUpload(key);
    await putPart(key, uploadId, 1, randomBytes(1000));
    const abort = await sign({ op: "abortMultipart", key, uploadId });
    expect((await send(abort)).status).toBe(204);
    expect((await send(abort)).status).toBe(204); // idempotent
    expect(await filesUnder(join("multipart", uploadId))).toEqual([]);
    await expectS3Error(await send(await sign({ op: "listParts", key, uploadId })), 404, "NoSuchUpload");
  });

  it("getObject of a missing key is NoSuchKey", async () => {
    await expectS3Error(
      await send(await sign({ op: "getObject", key: newKey(), filename: "x", contentType: "text/plain" })),
      404,
      "NoSuchKey",
    );
  });
});

describe("parseCompleteMultipartXml", () => {
  it("reads S3's and Uppy's shapes", () => {
    const s3 = `<?xml version="1.0" encoding="UTF-8"?>
      <CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
        <Part><ETag>&quot;aa&quot;</ETag><PartNumber>1</PartNumber><ChecksumCRC32>x</ChecksumCRC32></Part>
        <Part>
          <PartNumber>2</PartNumber>
          <ETag>"bb"</ETag>
        </Part>
      </CompleteMultipartUpload>`;
    expect(parseCompleteMultipartXml(s3)).toEqual([
      { partNumber: 1, etag: '"aa"' },
      { partNumber: 2, etag: '"bb"' },
    ]);
  });

  it.each([
    "",
    "<CompleteMultipartUpload></CompleteMultipartUpload>",
    "<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
    "<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag><Evil>x</Evil></Part></CompleteMultipartUpload>",
    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part>junk</CompleteMultipartUpload>",
    '<!DOCTYPE x [<!ENTITY e "x">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&e;</ETag></Part></CompleteMultipartUpload>',
  ])("refuses %j", (xml) => {
    expect(parseCompleteMultipartXml(xml)).toBeNull();
  });
});
