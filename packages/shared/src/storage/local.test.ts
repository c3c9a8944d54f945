import { createHash } from "node:crypto";
import { readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { beforeEach, describe, expect, it } from "vitest";
import { type LocalStorageDriver, LocalStorageError, MIN_PART_BYTES, normalizeEtag } from "./local.ts";
import { verifyLocalRequest } from "./local-signing.ts";
import { readAll, TEST_SECRET, useTempDriver } from "./local-test-fixture.ts";

let dataDir: string;
let driver: LocalStorageDriver;
useTempDriver((fresh) => {
  ({ dataDir, driver } = fresh);
});

describe("LocalStorageDriver", () => {
  it("writes, heads, reads, reads ranges and deletes objects", async () => {
    const key = "thumbnails/u/a/thumb.webp";
    await driver.write(key, Buffer.from("hello world"), "image/webp");
    expect(await driver.head(key)).toMatchObject({ size: 11 });
    expect((await readAll(await driver.read(key))).toString()).toBe("hello world");
    expect((await driver.readRange(key, 0, 4)).toString()).toBe("hello");
    expect((await driver.readRange(key, 6, 1000)).toString()).toBe("world");
    expect((await driver.readRange(key, 50, 60)).length).toBe(0);

    await driver.delete(key);
    expect(await driver.head(key)).toBeNull();
    await driver.delete(key); // idempotent
    // Now-empty parents are gone, the objects root stays.
    expect(await readdir(join(dataDir, "objects"))).toEqual([]);
  });

  it("writes from a stream and leaves no temp file", async () => {
    await driver.write("uploads/u/a/s.bin", Readable.from([Buffer.alloc(1000, 1), Buffer.alloc(24, 2)]), "application/octet-stream");
    expect(await driver.head("uploads/u/a/s.bin")).toMatchObject({ size: 1024 });
    expect(await readdir(join(dataDir, "tmp"))).toEqual([]);
  });

  it("makes tmp/ and multipart/ again when they were removed under it", async () => {
    await driver.write("uploads/u/a/1", Buffer.from("1"), "text/plain");
    await rm(join(dataDir, "tmp"), { recursive: true });
    await driver.write("uploads/u/a/2", Buffer.from("2"), "text/plain");
    expect(await driver.head("uploads/u/a/2")).toMatchObject({ size: 1 });
    await rm(join(dataDir, "multipart"), { recursive: true, force: true });
    const uploadId = await driver.createMultipart("uploads/u/a/3", "text/plain");
    const part = await driver.uploadPartStream("uploads/u/a/3", uploadId, 1, Readable.from([Buffer.from("3")]), 1);
    await rm(join(dataDir, "tmp"), { recursive: true });
    // Several requests at once find tmp/ gone (each makes it again, none fails for the others' doing).
    const more = await Promise.all(
      [2, 3, 4, 5].map((n) => driver.uploadPartStream("uploads/u/a/3", uploadId, n, Readable.from([Buffer.from("x")]), 1)),
    );
    expect(more.map((p) => p.size)).toEqual([1, 1, 1, 1]);
    await rm(join(dataDir, "tmp"), { recursive: true });
    await driver.completeMultipart("uploads/u/a/3", uploadId, [{ partNumber: 1, etag: part.etag }]);
    expect((await readAll(await driver.read("uploads/u/a/3"))).toString()).toBe("3");
  });

  it("a refused upload leaves no folder it made for the object", async () => {
    await expect(driver.putObjectStream("uploads/u/new-asset/x.bin", Readable.from([Buffer.alloc(10)]), 5)).rejects.toMatchObject({
      code: "EntityTooLarge",
    });
    expect(await readdir(join(dataDir, "objects"))).toEqual([]);
  });

  it("read of a missing object fails with NoSuchKey", async () => {
    await expect(driver.read("uploads/u/a/missing")).rejects.toMatchObject({ code: "NoSuchKey" });
    await expect(driver.readRange("uploads/u/a/missing", 0, 1)).rejects.toBeInstanceOf(LocalStorageError);
  });

  it("delete keeps parents that still hold other objects", async () => {
    await driver.write("uploads/u/a/1", Buffer.from("1"), "text/plain");
    await driver.write("uploads/u/b/2", Buffer.from("2"), "text/plain");
    await driver.delete("uploads/u/a/1");
    expect(await readdir(join(dataDir, "objects", "uploads", "u"))).toEqual(["b"]);
  });

  it("moves an object (quarantine) and verifies it", async () => {
    await driver.write("uploads/u/a/x.pdf", Buffer.from("%PDF-1.7"), "application/pdf");
    await driver.move("uploads/u/a/x.pdf", "quarantine/u/a/x.pdf");
    expect(await driver.head("uploads/u/a/x.pdf")).toBeNull();
    expect(await driver.head("quarantine/u/a/x.pdf")).toMatchObject({ size: 8 });
    await expect(driver.move("uploads/u/a/x.pdf", "quarantine/u/a/y")).rejects.toMatchObject({ code: "NoSuchKey" });
    expect(await readdir(join(dataDir, "objects"))).toEqual(["quarantine"]);
  });

  it.each(["uploads/../../etc/passwd", "uploads/a/../b", "/etc/passwd", "uploads//x", "uploads/a\\..\\b", "uploads/a\0"])(
    "refuses the key %j before touching the disk",
    async (key) => {
      await expect(driver.head(key)).rejects.toMatchObject({ code: "InvalidKey" });
      await expect(driver.write(key, Buffer.from("x"), "text/plain")).rejects.toMatchObject({ code: "InvalidKey" });
      await expect(driver.delete(key)).rejects.toMatchObject({ code: "InvalidKey" });
    },
  );

  describe("list", () => {
    const keys = ["uploads/a/1", "uploads/a/2", "uploads/a-b/1", "uploads/ab", "uploads/b/c/d", "quarantine/a/1", "uploads/a/10"];

    beforeEach(async () => {
      for (const key of keys) await driver.write(key, Buffer.from(key), "text/plain");
    });

    it("lists keys under a prefix in sorted order with sizes", async () => {
      const { items, cursor } = await driver.list("uploads/");
      expect(items.map((i) => i.key)).toEqual(keys.filter((k) => k.startsWith("uploads/")).sort());
      expect(items[0]).toMatchObject({ key: "uploads/a-b/1", size: "uploads/a-b/1".length });
      expect(items[0]!.lastModified).toBeInstanceOf(Date);
      expect(cursor).toBeUndefined();
    });

    it("matches a partial last segment", async () => {
      expect((await driver.list("uploads/a")).items.map((i) => i.key)).toEqual([
        "uploads/a-b/1",
        "uploads/a/1",
        "uploads/a/10",
        "uploads/a/2",
        "uploads/ab",
      ]);
      expect((await driver.list("uploads/a/1")).items.map((i) => i.key)).toEqual(["uploads/a/1", "uploads/a/10"]);
      expect((await driver.list("nothing/")).items).toEqual([]);
    });

    it("pages with a cursor equal to the last key", async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await driver.list("", { limit: 2, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((i) => i.key));
        if (page.cursor) expect(page.cursor).toBe(page.items.at(-1)!.key);
        cursor = page.cursor;
      } while (cursor);
      expect(seen).toEqual([...keys].sort());
    });

    it("refuses a traversing prefix", async () => {
      await expect(driver.list("uploads/../../")).rejects.toThrow();
    });
  });

  describe("multipart", () => {
    const key = "uploads/u/a/big.bin";

    async function uploadPart(uploadId: string, partNumber: number, bytes: Buffer) {
      return driver.uploadPartStream(key, uploadId, partNumber, Readable.from([bytes]), bytes.length);
    }

    it("creates, lists with the ETags the part uploads answered, completes with an S3-style multipart ETag", async () => {
      const uploadId = await driver.createMultipart(key, "application/octet-stream");
      expect(uploadId).toMatch(/^[0-9a-f]{32}$/);
      const one = Buffer.alloc(MIN_PART_BYTES, 1);
      const two = Buffer.from("tail");
      const p2 = await uploadPart(uploadId, 2, two);
      const p1 = await uploadPart(uploadId, 1, one);
      // Opaque tokens, not the MD5 of the bytes (nothing is hashed without Content-MD5).
      for (const p of [p1, p2]) expect(p.etag).toMatch(/^[0-9a-f]{32}$/);
      expect(p2.etag).not.toBe(createHash("md5").update(two).digest("hex"));
      const parts = await driver.listParts(key, uploadId);
      expect(parts.map(({ partNumber, etag, size }) => ({ partNumber, etag, size }))).toEqual([
        { partNumber: 1, etag: p1.etag, size: one.length },
        { partNumber: 2, etag: p2.etag, size: 4 },
      ]);
      expect(await driver.listParts(key, uploadId)).toEqual(parts); // stable

      const result = await driver.completeMultipart(key, uploadId, [
        { partNumber: 1, etag: `"${p1.etag}"` },
        { partNumber: 2, etag: p2.etag },
      ]);
      const expectedEtag = `${createHash("md5")
        .update(Buffer.concat([Buffer.from(p1.etag, "hex"), Buffer.from(p2.etag, "hex")]))
        .digest("hex")}-2`;
      expect(result.etag).toBe(expectedEtag);
      expect(result.size).toBe(one.length + 4);
      expect(await driver.head(key)).toMatchObject({ size: one.length + 4 });
      expect((await readAll(await driver.read(key))).equals(Buffer.concat([one, two]))).toBe(true);
      expect(await readdir(join(dataDir, "multipart"))).toEqual([]);
      await expect(driver.listParts(key, uploadId)).rejects.toMatchObject({ code: "NoSuchUpload" });
    });

    it("parts of the earlier layout (bare file + .etag sidecar) are listed and completed; a new upload of the number supersedes them", async () => {
      const uploadId = await driver.createMultipart(key, "application/octet-stream");
      const dir = join(dataDir, "multipart", uploadId);
      const first = Buffer.alloc(MIN_PART_BYTES + 3, 7);
      const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");
      await writeFile(join(dir, "1"), first);
      await writeFile(join(dir, "1.etag"), md5(first));
      await writeFile(join(dir, "2"), "old two");
      await writeFile(join(dir, "2.etag"), md5(Buffer.from("old two")));
      expect((await driver.listParts(key, uploadId)).map(({ partNumber, etag, size }) => ({ partNumber, etag, size }))).toEqual([
        { partNumber: 1, etag: md5(first), size: first.length },
        { partNumber: 2, etag: md5(Buffer.from("old two")), size: 7 },
      ]);
      const two = await uploadPart(uploadId, 2, Buffer.from("new two"));
      expect((await driver.listParts(key, uploadId)).map((p) => p.etag)).toEqual([md5(first), two.etag]);
      const result = await driver.completeMultipart(key, uploadId, [
        { partNumber: 1, etag: md5(first) },
        { partNumber: 2, etag: two.etag },
      ]);
      expect(result.size).toBe(first.length + 7);
      expect((await readAll(await driver.read(key))).equals(Buffer.concat([first, Buffer.from("new two")]))).toBe(true);
    });

    it("a re-uploaded part gets a new ETag, and completing with the replaced one's is refused", async () => {
      const uploadId = await driver.createMultipart(key, "application/octet-stream");
      const first = await uploadPart(uploadId, 1, Buffer.from("same bytes"));
      const second = await uploadPart(uploadId, 1, Buffer.from("same bytes"));
      expect(second.etag).not.toBe(first.etag);
      expect((await driver.listParts(key, uploadId)).map((p) => p.etag)).toEqual([second.etag]);
      await expect(driver.completeMultipart(key, uploadId, [{ partNumber: 1, etag: first.etag }])).rejects.toMatchObject({
        code: "InvalidPart",
      });
      await driver.completeMultipart(key, uploadId, [{ partNumber: 1, etag: second.etag }]);
      expect((await readAll(await driver.read(key))).toString()).toBe("same bytes");
    });

    it("with Content-MD5: verified, and the ETag is that MD5; a mismatch stores nothing (BadDigest)", async () => {
      const uploadId = await driver.createMultipart(key, "application/octet-stream");
      const bytes = Buffer.from("checked part");
      const md5 = createHash("md5").update(bytes).digest("hex");
      const body = () => Readable.from([bytes.subarray(0, 5), bytes.subarray(5)]);
      expect(await driver.uploadPartStream(key, uploadId, 1, body(), 100, { contentMd5: md5 })).toEqual({ etag: md5, size: bytes.length });
      await expect(driver.uploadPartStream(key, uploadId, 2, body(), 100, { contentMd5: "0".repeat(32) })).rejects.toMatchObject({
        code: "BadDigest",
      });
      expect((await driver.listParts(key, uploadId)).map((p) => [p.partNumber, p.etag])).toEqual([[1, md5]]);
      await expect(driver.putObjectStream("uploads/u/a/one.txt", body(), 100, { contentMd5: "f".repeat(32) })).rejects.toMatchObject({
        code: "BadDigest",
      });
      expect(await driver.head("uploads/u/a/one.txt")).toBeNull();
      expect(await driver.putObjectStream("uploads/u/a/one.txt", body(), 100, { contentMd5: md5 })).toEqual({
        etag: md5,
        size: bytes.length,
      });
      expect(await readdir(join(dataDir, "tmp"))).toEqual([]);
    });

    it("refuses parts out of order, unknown ETags and small non-final parts", async () => {
      const uploadId = await driver.createMultipart(key, "application/octet-stream");
      const a = await uploadPart(uploadId, 1, Buffer.from("small"));
      const b = await uploadPart(uploadId, 2, Buffer.from("also small"));
      await expect(
        driver.completeMultipart(key, uploadId, [
          { partNumber: 2, etag: b.etag },
          { partNumber: 1, etag: a.etag },
        ]),
      ).rejects.toMatchObject({ code: "InvalidPartOrder" });
      await expect(driver.completeMultipart(key, uploadId, [{ partNumber: 1, etag: b.etag }])).rejects.toMatchObject({
        code: "InvalidPart",
      });
      await expect(driver.completeMultipart(key, uploadId, [{ partNumber: 3, etag: b.etag }])).rejects.toMatchObject({
        code: "InvalidPart",
      });
      await expect(
        driver.completeMultipart(key, uploadId, [
          { partNumber: 1, etag: a.etag },
          { partNumber: 2, etag: b.etag },
        ]),
      ).rejects.toMatchObject({ code: "EntityTooSmall" });
      // A single small part is fine (it is the last).
      await driver.completeMultipart(key, uploadId, [{ partNumber: 1, etag: a.etag }]);
      expect((await readAll(await driver.read(key))).toString()).toBe("small");
    });

    it("binds an upload to its key and refuses unknown ids", async () => {
      const uploadId = await driver.createMultipart(key, "text/plain");
      await expect(driver.listParts("uploads/u/a/other", uploadId)).rejects.toMatchObject({ code: "NoSuchUpload" });
      await expect(driver.listParts(key, "0".repeat(32))).rejects.toMatchObject({ code: "NoSuchUpload" });
      await expect(driver.listParts(key, "../../objects")).rejects.toMatchObject({ code: "NoSuchUpload" });
      // Aborting with the wrong key leaves the upload alone.
      await driver.abortMultipart("uploads/u/a/other", uploadId);
      expect(await driver.listParts(key, uploadId)).toEqual([]);
    });

    it("aborts idempotently and removes parts", async () => {
      const uploadId = await driver.createMultipart(key, "text/plain");
      await uploadPart(uploadId, 1, Buffer.from("x"));
      await driver.abortMultipart(key, uploadId);
      await driver.abortMultipart(key, uploadId);
      await driver.abortMultipart(key, "not-an-id");
      expect(await readdir(join(dataDir, "multipart"))).toEqual([]);
      await expect(uploadPart(uploadId, 2, Buffer.from("y"))).rejects.toMatchObject({ code: "NoSuchUpload" });
      expect(await readdir(join(dataDir, "tmp"))).toEqual([]);
    });

    it("refuses a part over its limit and keeps nothing of it", async () => {
      const uploadId = await driver.createMultipart(key, "text/plain");
      const body = Readable.from([Buffer.alloc(600), Buffer.alloc(600)]);
      await expect(driver.uploadPartStream(key, uploadId, 1, body, 1000)).rejects.toMatchObject({ code: "EntityTooLarge" });
      expect(await driver.listParts(key, uploadId)).toEqual([]);
      expect(await readdir(join(dataDir, "tmp"))).toEqual([]);
    });
  });

  it("lists unfinished multipart uploads under a prefix, page by page, until they complete or are aborted", async () => {
    const a = "uploads/u/a/one.bin";
    const b = "uploads/u/b/two.bin";
    const ids: string[] = [];
    for (const key of [a, a, b]) ids.push(await driver.createMultipart(key, "x/y"));
    await driver.createMultipart("uploads/v/c/other.bin", "x/y");
    const seen: Array<{ key: string; uploadId: string }> = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await driver.listMultipartUploads("uploads/u/", { cursor, limit: 1 });
      expect(page.items.length).toBeLessThanOrEqual(1);
      for (const item of page.items) {
        expect(item.initiated.getTime()).toBeGreaterThan(Date.now() - 60_000);
        seen.push({ key: item.key, uploadId: item.uploadId });
      }
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen.sort((x, y) => x.uploadId.localeCompare(y.uploadId))).toEqual(
      ids.map((uploadId, i) => ({ key: i < 2 ? a : b, uploadId })).sort((x, y) => x.uploadId.localeCompare(y.uploadId)),
    );
    await driver.abortMultipart(a, ids[0] ?? "");
    expect((await driver.listMultipartUploads("uploads/u/")).items.map((u) => u.uploadId).sort()).toEqual([ids[1], ids[2]].sort());
  });

  it("lists no multipart uploads before any was started", async () => {
    expect(await driver.listMultipartUploads("uploads/")).toEqual({ items: [] });
  });

  it("signs URLs the verifier accepts, with the content type as a required header", async () => {
    const signed = await driver.sign({ op: "putObject", key: "uploads/u/a/f.txt", contentType: "text/plain", maxBytes: 10 }, 60);
    expect(signed.method).toBe("PUT");
    expect(signed.headers).toEqual({ "content-type": "text/plain" });
    expect(signed.url.startsWith("http://localhost:3000/storage/uploads/u/a/f.txt?")).toBe(true);
    expect(signed.expiresAt.getTime() % 1000).toBe(0);
    expect(verifyLocalRequest({ secret: TEST_SECRET, method: "PUT", url: signed.url }).ok).toBe(true);
    await expect(driver.sign({ op: "getObject", key: "quarantine/u/a/f", filename: "f", contentType: "text/plain" }, 60)).rejects.toThrow();
    await expect(driver.sign({ op: "listParts", key: "uploads/u/a/f", uploadId: "0".repeat(32) }, 8 * 86_400)).rejects.toThrow();
  });

  it("health creates the layout and proves the data dir writable", async () => {
    await driver.health();
    for (const dir of ["objects", "multipart", "tmp"]) expect((await stat(join(dataDir, dir))).isDirectory()).toBe(true);
    expect(await readdir(join(dataDir, "tmp"))).toEqual([]);
  });

  it("sweepTemp removes only old temp files", async () => {
    await driver.health();
    await writeFile(join(dataDir, "tmp", "fresh"), "x");
    expect(await driver.sweepTemp(60_000)).toBe(0);
    expect(await driver.sweepTemp(-1)).toBe(1);
  });

  it("normalizeEtag accepts quoted, escaped and bare forms", () => {
    for (const form of ['"ABCDEF"', "&quot;abcdef&quot;", "abcdef", " &#34;abcdef&#34; "]) expect(normalizeEtag(form)).toBe("abcdef");
  });
});
