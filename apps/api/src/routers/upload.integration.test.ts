import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { destroyBucketForTests, S3StorageDriver } from "@airlock/shared/storage";
import { LocalStorageDriver } from "@airlock/shared/storage/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3Env, storageDrivers } from "../../../../test/storage-drivers.ts";
import { seedUser, startTestServer, type TestServer, trpcError } from "../test-server.ts";
import { opaqueBytes, sendBytes, sendSigned, startUpload, uploadFile } from "../test-upload-client.ts";

const MiB = 1024 * 1024;
const PNG_1x1 = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4ae0000000049454e44ae426082",
  "hex",
);
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe.each(storageDrivers)("[UPLOADS][$name] against real storage (files on disk; Ceph RGW)", (driver) => {
  let server: TestServer;
  let overrides: Record<string, string>;
  beforeAll(async () => {
    overrides = await driver.env("uploads");
    server = await startTestServer({
      ...overrides,
      MULTIPART_THRESHOLD_BYTES: String(16 * MiB),
      MULTIPART_PART_SIZE_BYTES: String(8 * MiB),
    });
  });
  afterAll(async () => {
    if (server.storage instanceof S3StorageDriver) await destroyBucketForTests(server.storage);
    await server?.close();
    if (overrides.DATA_DIR) await rm(overrides.DATA_DIR, { recursive: true, force: true });
  });

  async function storedSha256(key: string) {
    const hash = createHash("sha256");
    await pipeline(await server.storage.read(key), hash);
    return hash.digest("hex");
  }

  it("uploads a 1 KiB file with one signed PUT and confirms it into the scan queue", async () => {
    const { key } = await seedUser();
    const client = server.client(key);
    const bytes = Buffer.concat([Buffer.from("hello airlock\n"), Buffer.alloc(1024 - 14, "a")]);
    const { init, asset } = await uploadFile(client, bytes, { filename: "notes.txt", mimeType: "text/plain", sha256: sha256(bytes) });
    expect(init.mode).toBe("single");
    expect(asset).toMatchObject({ status: "UPLOADED", size: 1024, detectedMime: "text/plain", sha256: sha256(bytes) });
    expect(init.key).toMatch(new RegExp(`^uploads/[0-9a-f-]{36}/${init.assetId}/notes\\.txt$`));
    const job = await server.queues["asset-virus-scan"].getJob(init.assetId);
    expect(job?.data).toEqual({ assetId: init.assetId });
    const events = await server.db.uploadEvent.findMany({ where: { assetId: init.assetId }, orderBy: { at: "asc" } });
    expect(events.map((e) => e.type)).toEqual(["INITIATED", "CONFIRMED"]);
    // Confirming again is a no-op answered with the same state.
    expect(await client.upload.confirm.mutate({ assetId: init.assetId })).toMatchObject({ status: "UPLOADED" });
    expect(await server.db.uploadEvent.count({ where: { assetId: init.assetId } })).toBe(2);
  });

  it("five concurrent confirms of one upload: one transition, one event, one scan job; every answer is the confirmed upload", async () => {
    const { key } = await seedUser();
    const client = server.client(key);
    const bytes = Buffer.from("confirm me once, please\n".repeat(40));
    const init = await startUpload(client, bytes, { filename: "race.txt", mimeType: "text/plain" });
    await sendBytes(client, bytes, init);
    const answers = await Promise.allSettled(Array.from({ length: 5 }, () => client.upload.confirm.mutate({ assetId: init.assetId })));
    // A confirm that finds the object already moved by another one may also fail retryably; none may fail otherwise.
    const confirmed = answers.filter((a) => a.status === "fulfilled").map((a) => a.value);
    expect(confirmed.length).toBeGreaterThanOrEqual(1);
    for (const asset of confirmed) expect(asset).toMatchObject({ status: "UPLOADED", size: bytes.length, key: confirmed[0]?.key });
    for (const a of answers) if (a.status === "rejected") expect(String(a.reason)).toMatch(/retry/i);
    expect((await server.db.uploadEvent.findMany({ where: { assetId: init.assetId } })).map((e) => e.type).sort()).toEqual([
      "CONFIRMED",
      "INITIATED",
    ]);
    expect(await server.queues["asset-virus-scan"].getJob(init.assetId)).toBeTruthy();
    expect(await server.storage.head(confirmed[0]?.key ?? "")).toMatchObject({ size: bytes.length });
  });

  it("uploads a 50 MiB file in parts and the stored bytes equal the source", async () => {
    const { key } = await seedUser();
    const bytes = opaqueBytes(50 * MiB);
    const { init, asset, trace } = await uploadFile(server.client(key), bytes, {
      filename: "big.bin",
      mimeType: "application/octet-stream",
    });
    expect(init).toMatchObject({ mode: "multipart", partSize: 8 * MiB, partCount: 7 });
    expect(trace.partsSent).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(asset).toMatchObject({ status: "UPLOADED", size: 50 * MiB });
    expect(await storedSha256(init.key)).toBe(sha256(bytes));
  });

  it("resumes an upload interrupted after 2 of 5 parts, sending only the missing parts", async () => {
    const { key } = await seedUser();
    const bytes = opaqueBytes(5 * 8 * MiB - 1234);
    const first = server.client(key);
    const init = await startUpload(first, bytes, { filename: "resume.bin", mimeType: "application/octet-stream", sha256: sha256(bytes) });
    expect(init.partCount).toBe(5);
    const crashed = await sendBytes(first, bytes, init, { stopAfterParts: 2 });
    expect(crashed.trace.partsSent).toEqual([1, 2]);
    if (server.storage instanceof LocalStorageDriver) {
      // The API signs the part size, so the local driver writes the parts in place, into one file.
      const stored = await readdir(join(server.storage.dataDir, "multipart", crashed.uploadId ?? ""));
      expect(stored.sort()).toEqual(["1.slot", "2.slot", "data", "meta"]);
    }
    // A new client (after a reload) knows only the asset id.
    const resumed = await sendBytes(server.client(key), bytes, init, { resume: true });
    expect(resumed.uploadId).toBe(crashed.uploadId);
    expect(resumed.trace.partsSent).toEqual([3, 4, 5]);
    const asset = await server.client(key).upload.confirm.mutate({ assetId: init.assetId });
    expect(asset).toMatchObject({ status: "UPLOADED", sha256: sha256(bytes) });
    expect(await storedSha256(init.key)).toBe(sha256(bytes));
  });

  it("a PUT URL replayed after confirm cannot replace the bytes that were checked and scanned", async () => {
    const { key } = await seedUser();
    const client = server.client(key);
    const original = Buffer.from("the original text, long enough to be overwritten");
    const init = await client.upload.initiate.mutate({ filename: "o.txt", mimeType: "text/plain", size: original.length });
    const signed = await client.upload.sign.mutate({ assetId: init.assetId, method: "PUT" });
    expect((await fetch(signed.url, { method: "PUT", headers: signed.headers, body: original })).status).toBe(200);
    const asset = await client.upload.confirm.mutate({ assetId: init.assetId });
    const evil = Buffer.from("<script>evil()</script>");
    await fetch(signed.url, {
      method: "PUT",
      headers: signed.headers,
      body: Buffer.concat([evil, Buffer.alloc(original.length - evil.length, 32)]).subarray(0, original.length),
    });
    expect(asset.key).not.toBe(init.key);
    expect(await storedSha256(asset.key)).toBe(sha256(original));
    expect(await client.upload.confirm.mutate({ assetId: init.assetId })).toMatchObject({ status: "UPLOADED", key: asset.key });
  });

  it("fails the asset and removes the object when the stored size differs from the declared one", async () => {
    const { key } = await seedUser();
    const client = server.client(key);
    const init = await client.upload.initiate.mutate({ filename: "short.txt", mimeType: "text/plain", size: 100 });
    // The store refuses a body whose length differs from the signed one, so write the object server-side.
    await server.storage.write(init.key, Buffer.alloc(60, "x"), "text/plain");
    const error = await trpcError(client.upload.confirm.mutate({ assetId: init.assetId }));
    expect(error.data).toMatchObject({ code: "UNPROCESSABLE_CONTENT", appCode: "SIZE_MISMATCH" });
    expect(await server.storage.head(init.key)).toBeNull();
    expect(await client.upload.status.query({ assetId: init.assetId })).toMatchObject({ status: "FAILED", failureCode: "size_mismatch" });
  });

  it("refuses a PUT body larger than declared at the store", async () => {
    const { key } = await seedUser();
    const client = server.client(key);
    const init = await client.upload.initiate.mutate({ filename: "a.txt", mimeType: "text/plain", size: 10 });
    const { res } = await sendSigned(client, init.assetId, { method: "PUT" }, Buffer.alloc(5000, "a"));
    expect(res.ok).toBe(false);
    expect(await server.storage.head(init.key)).toBeNull();
  });

  it("fails a confirm without an uploaded object with OBJECT_MISSING", async () => {
    const { key } = await seedUser();
    const client = server.client(key);
    const init = await client.upload.initiate.mutate({ filename: "never.txt", mimeType: "text/plain", size: 10 });
    const error = await trpcError(client.upload.confirm.mutate({ assetId: init.assetId }));
    expect(error.data?.appCode).toBe("OBJECT_MISSING");
    expect((await client.upload.status.query({ assetId: init.assetId })).status).toBe("FAILED");
    expect((await trpcError(client.upload.confirm.mutate({ assetId: init.assetId }))).data?.appCode).toBe("INVALID_STATE");
  });

  it("fails spoofed content: a text file declared as PNG", async () => {
    const { key } = await seedUser();
    const client = server.client(key);
    const error = await trpcError(
      uploadFile(client, Buffer.from("<?php system($_GET['c']); ?>"), { filename: "cat.png", mimeType: "image/png" }),
    );
    expect(error.data?.appCode).toBe("MIME_MISMATCH");
    const [asset] = (await client.upload.list.query({})).items;
    expect(asset).toMatchObject({ status: "FAILED", failureCode: "mime_mismatch" });
    expect(await server.storage.head(asset!.key)).toBeNull();
  });

  it("accepts a real PNG and detects its type from the bytes", async () => {
    const { key } = await seedUser();
    const { asset } = await uploadFile(server.client(key), PNG_1x1, { filename: "dot.png", mimeType: "image/png" });
    expect(asset).toMatchObject({ status: "UPLOADED", detectedMime: "image/png" });
  });

  it("fails a checksum that does not match the bytes", async () => {
    const { key } = await seedUser();
    const error = await trpcError(
      uploadFile(server.client(key), Buffer.from("abc"), { filename: "a.txt", mimeType: "text/plain", sha256: "0".repeat(64) }),
    );
    expect(error.data?.appCode).toBe("CHECKSUM_MISMATCH");
  });

  it("refuses signed URLs that were tampered with, re-used for another call, or expired", async () => {
    const { key } = await seedUser();
    const client = server.client(key);
    const bytes = opaqueBytes(17 * MiB);
    const init = await client.upload.initiate.mutate({ filename: "x.bin", mimeType: "application/octet-stream", size: bytes.length });
    const { text } = await sendSigned(client, init.assetId, { method: "POST" });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(text)?.[1] ?? "";
    const part1 = await client.upload.sign.mutate({ assetId: init.assetId, method: "PUT", uploadId, partNumber: 1 });
    const body = bytes.subarray(0, 8 * MiB);
    const put = (url: string, method = "PUT") => fetch(url, { method, body: method === "GET" ? undefined : body, headers: part1.headers });

    const otherPart = part1.url.replace(/([?&])partNumber=1(&|$)/, "$1partNumber=2$2");
    expect(otherPart).not.toBe(part1.url);
    expect((await put(otherPart)).status, "re-used for another part").toBeGreaterThanOrEqual(400);
    const otherKey = part1.url.replace(init.assetId, crypto.randomUUID());
    expect((await put(otherKey)).status, "re-used for another key").toBeGreaterThanOrEqual(400);
    expect((await put(part1.url, "GET")).status, "re-used with another method").toBeGreaterThanOrEqual(400);
    const unsigned = part1.url.split("?")[0] ?? "";
    expect((await put(unsigned)).status, "unsigned").toBeGreaterThanOrEqual(400);

    const expiring = await server.storage.sign({ op: "uploadPart", key: init.key, uploadId, partNumber: 1, maxBytes: 8 * MiB }, 1);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await put(expiring.url)).status, "expired").toBeGreaterThanOrEqual(400);
    expect((await put(part1.url)).status, "the genuine URL still works").toBe(200);
  });

  it("never signs for an asset that is not pending, nor for someone else's asset", async () => {
    const owner = await seedUser();
    const other = await seedUser();
    const { init } = await uploadFile(server.client(owner.key), Buffer.from("hello"), { filename: "h.txt", mimeType: "text/plain" });
    const again = await trpcError(server.client(owner.key).upload.sign.mutate({ assetId: init.assetId, method: "PUT" }));
    expect(again.data?.appCode).toBe("INVALID_STATE");
    const intruder = server.client(other.key).upload;
    const assetId = init.assetId;
    for (const call of [
      () => intruder.sign.mutate({ assetId, method: "PUT" }),
      () => intruder.get.query({ assetId }),
      () => intruder.status.query({ assetId }),
      () => intruder.confirm.mutate({ assetId }),
      () => intruder.delete.mutate({ assetId }),
      () => intruder.downloadUrl.mutate({ assetId }),
    ]) {
      expect((await trpcError(call())).data?.code).toBe("NOT_FOUND");
    }
    expect((await server.client(owner.key).upload.status.query({ assetId })).status).toBe("UPLOADED");
    expect((await server.client(other.key).upload.list.query({})).items).toEqual([]);
  });

  it("serves downloads only for CLEAN assets, as short-lived attachments", async () => {
    const { key } = await seedUser();
    const client = server.client(key);
    const { init } = await uploadFile(client, Buffer.from("clean text"), { filename: "report final.txt", mimeType: "text/plain" });
    expect((await trpcError(client.upload.downloadUrl.mutate({ assetId: init.assetId }))).data?.appCode).toBe("INVALID_STATE");
    // Only a scanner verdict makes an asset CLEAN (the scanning issue); set it directly to test serving.
    await server.db.asset.update({ where: { id: init.assetId }, data: { status: "CLEAN" } });
    const { url, expiresAt } = await client.upload.downloadUrl.mutate({ assetId: init.assetId });
    expect(new Date(expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(server.env.DOWNLOAD_URL_TTL_SECONDS * 1000);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("clean text");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="report final.txt"/);
    // The local driver's own download headers survive the API's middleware (S3 sets neither).
    if (driver.name === "local") {
      expect(res.headers.get("content-security-policy")).toBe("sandbox");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("deletes an upload with its object, keeping the row as DELETED", async () => {
    const { key } = await seedUser();
    const client = server.client(key);
    const { init, asset } = await uploadFile(client, Buffer.from("bye"), { filename: "bye.txt", mimeType: "text/plain" });
    expect(await server.storage.head(asset.key)).not.toBeNull();
    const deleted = await client.upload.delete.mutate({ assetId: init.assetId });
    expect(deleted.status).toBe("DELETED");
    expect(await server.storage.head(asset.key)).toBeNull();
    expect(await server.db.uploadEvent.count({ where: { assetId: init.assetId, type: "DELETED" } })).toBe(1);
  });
});

describe("[UPLOADS][VALIDATION]", () => {
  let server: TestServer;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "airlock-local-"));
    server = await startTestServer({
      DATA_DIR: dataDir,
      UPLOAD_MAX_BYTES: String(100 * MiB),
      UPLOAD_RATE_LIMIT_PER_MINUTE: "5",
      UPLOAD_MAX_PENDING_PER_USER: "3",
    });
  });
  afterAll(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["an empty file", { filename: "a.txt", mimeType: "text/plain", size: 0 }, "FILE_EMPTY"],
    ["a file over the limit", { filename: "a.bin", mimeType: "application/octet-stream", size: 100 * MiB + 1 }, "FILE_TOO_LARGE"],
    ["a negative size", { filename: "a.txt", mimeType: "text/plain", size: -1 }, "BAD_REQUEST"],
    ["a fractional size", { filename: "a.txt", mimeType: "text/plain", size: 1.5 }, "BAD_REQUEST"],
    ["a type outside the allowlist", { filename: "a.svg", mimeType: "image/svg+xml", size: 10 }, "INVALID_FILENAME"],
    ["a type outside the allowlist (neutral name)", { filename: "movie.mkv", mimeType: "video/x-matroska", size: 10 }, "MIME_NOT_ALLOWED"],
    ["a malformed type", { filename: "a.txt", mimeType: "text", size: 10 }, "BAD_REQUEST"],
    ["an extension that contradicts the type", { filename: "photo.pdf", mimeType: "image/png", size: 10 }, "MIME_MISMATCH"],
    ["a double extension", { filename: "photo.jpg.php", mimeType: "image/jpeg", size: 10 }, "INVALID_FILENAME"],
    ["an encoded NUL", { filename: "shell.php%00.jpg", mimeType: "image/jpeg", size: 10 }, "INVALID_FILENAME"],
    ["a bidi override", { filename: "invoice\u202Efdp.exe", mimeType: "application/pdf", size: 10 }, "INVALID_FILENAME"],
    ["a name of dots", { filename: "..", mimeType: "text/plain", size: 10 }, "INVALID_FILENAME"],
    ["a malformed sha256", { filename: "a.txt", mimeType: "text/plain", size: 10, sha256: "xyz" }, "BAD_REQUEST"],
    ["an unknown field", { filename: "a.txt", mimeType: "text/plain", size: 10, key: "uploads/other" }, "BAD_REQUEST"],
  ];
  it.each(cases)("refuses %s with %s and creates nothing", async (_label, input, appCode) => {
    const { key, user } = await seedUser();
    const error = await trpcError(server.client(key).upload.initiate.mutate(input as never));
    expect(error.data?.appCode).toBe(appCode);
    expect(await server.db.asset.count({ where: { ownerId: user.id } })).toBe(0);
  });

  it("sanitises path tricks in names into a safe key", async () => {
    const { key, user } = await seedUser();
    const init = await server.client(key).upload.initiate.mutate({ filename: "../../etc/passwd.txt", mimeType: "text/plain", size: 10 });
    expect(init.key).toBe(`uploads/${user.id}/${init.assetId}/passwd.txt`);
    const asset = await server.client(key).upload.get.query({ assetId: init.assetId });
    expect(asset.originalName).toBe("../../etc/passwd.txt");
  });

  it("limits unfinished uploads per user", async () => {
    const { key } = await seedUser();
    const client = server.client(key);
    for (let i = 0; i < 3; i++) await client.upload.initiate.mutate({ filename: `p${i}.txt`, mimeType: "text/plain", size: 10 });
    expect((await trpcError(client.upload.initiate.mutate({ filename: "p4.txt", mimeType: "text/plain", size: 10 }))).data?.appCode).toBe(
      "QUOTA_EXCEEDED",
    );
  });

  it("rate-limits initiate per user", async () => {
    const { key, user } = await seedUser();
    const other = await seedUser();
    const client = server.client(key);
    const codes: Array<string | undefined> = [];
    for (let i = 0; i < 6; i++) {
      const result = await client.upload.initiate.mutate({ filename: `r${i}.txt`, mimeType: "text/plain", size: 10 }).catch((e) => e);
      codes.push(result?.data?.appCode);
      // Keep the pending quota out of the way.
      await server.db.asset.updateMany({ where: { ownerId: user.id }, data: { status: "FAILED" } });
    }
    expect(codes.filter((c) => c === "RATE_LIMITED").length).toBeGreaterThanOrEqual(1);
    // Another user is not affected.
    expect(await server.client(other.key).upload.initiate.mutate({ filename: "o.txt", mimeType: "text/plain", size: 10 })).toHaveProperty(
      "assetId",
    );
  });
});

describe("[UPLOADS][S3][CORS]", () => {
  it("the bucket lets the admin's origin PUT directly and read the ETag (what Uppy needs)", async () => {
    const server = await startTestServer(s3Env("cors"));
    try {
      const { key } = await seedUser();
      const init = await server.client(key).upload.initiate.mutate({ filename: "c.txt", mimeType: "text/plain", size: 3 });
      const signed = await server.client(key).upload.sign.mutate({ assetId: init.assetId, method: "PUT" });
      const preflight = (origin: string) =>
        fetch(signed.url, {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "PUT", "access-control-request-headers": "content-type" },
        });
      const allowed = await preflight(server.url);
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get("access-control-allow-origin")).toBe(server.url);
      expect(allowed.headers.get("access-control-allow-methods")).toContain("PUT");
      const put = await fetch(signed.url, { method: "PUT", headers: { ...signed.headers, origin: server.url }, body: "abc" });
      expect(put.status).toBe(200);
      expect(put.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("etag");
      const refused = await preflight("http://evil.example");
      expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      if (server.storage instanceof S3StorageDriver) await destroyBucketForTests(server.storage);
      await server.close();
    }
  });
});
