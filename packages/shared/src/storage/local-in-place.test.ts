import { createHash, randomBytes } from "node:crypto";
import { lutimes, mkdir, readdir, stat, symlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { type LocalStorageDriver, MIN_PART_BYTES } from "./local.ts";
import { readAll, useTempDriver } from "./local-test-fixture.ts";

/** Multipart uploads that declare their part size: parts written in place, completion without a copy. */

const key = "uploads/u/a/big.bin";
const PART = MIN_PART_BYTES + 1024;
let dataDir: string;
let driver: LocalStorageDriver;
useTempDriver((fresh) => {
  ({ dataDir, driver } = fresh);
});

function put(uploadId: string, partNumber: number, body: Buffer | Readable, maxBytes = PART) {
  return driver.uploadPartStream(key, uploadId, partNumber, Buffer.isBuffer(body) ? Readable.from([body]) : body, maxBytes);
}

/** A body that has sent its first bytes and waits for `end()`: a request still streaming. */
function openBody(first: Buffer): PassThrough {
  const body = new PassThrough();
  body.write(first);
  return body;
}

async function leases(): Promise<string[]> {
  return readdir(join(dataDir, "leases")).catch(() => []);
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(await check()).toBe(true);
}

describe("LocalStorageDriver multipart in place (partBytes)", () => {
  it("writes parts at their slots in any order, and completion renames that very file into place", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: PART });
    const parts = [randomBytes(PART), randomBytes(PART), randomBytes(1000)];
    const answers = await Promise.all([put(uploadId, 3, parts[2]!), put(uploadId, 1, parts[0]!), put(uploadId, 2, parts[1]!)]);
    expect((await driver.listParts(key, uploadId)).map(({ partNumber, etag, size }) => ({ partNumber, etag, size }))).toEqual([
      { partNumber: 1, etag: answers[1].etag, size: PART },
      { partNumber: 2, etag: answers[2].etag, size: PART },
      { partNumber: 3, etag: answers[0].etag, size: 1000 },
    ]);
    const assembling = await stat(join(dataDir, "multipart", uploadId, "data"));

    const listed = [answers[1], answers[2], answers[0]].map((answer, i) => ({ partNumber: i + 1, etag: `"${answer.etag}"` }));
    const result = await driver.completeMultipart(key, uploadId, listed);
    const expectedEtag = createHash("md5")
      .update(Buffer.concat([answers[1], answers[2], answers[0]].map((a) => Buffer.from(a.etag, "hex"))))
      .digest("hex");
    expect(result).toEqual({ etag: `${expectedEtag}-3`, size: 2 * PART + 1000 });
    expect((await readAll(await driver.read(key))).equals(Buffer.concat(parts))).toBe(true);
    // No copy: the object is the file the parts were written into.
    expect((await stat(join(dataDir, "objects", ...key.split("/")))).ino).toBe(assembling.ino);
    expect(await readdir(join(dataDir, "multipart"))).toEqual([]);
    expect(await readdir(join(dataDir, "tmp")).catch(() => [])).toEqual([]);
    expect(await leases()).toEqual([]);
  });

  it("a re-sent part replaces the earlier one; an interrupted re-send leaves no part, never the old ETag on new bytes", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: PART });
    const first = await put(uploadId, 1, Buffer.from("first version"));
    const second = await put(uploadId, 1, Buffer.from("second"));
    expect((await driver.listParts(key, uploadId)).map((p) => [p.etag, p.size])).toEqual([[second.etag, 6]]);
    await expect(driver.completeMultipart(key, uploadId, [{ partNumber: 1, etag: first.etag }])).rejects.toMatchObject({
      code: "InvalidPart",
    });

    const broken = new Readable({
      read() {
        this.push(Buffer.from("third, cut off"));
        this.destroy(new Error("connection reset"));
      },
    });
    await expect(put(uploadId, 1, broken)).rejects.toThrow("connection reset");
    expect(await driver.listParts(key, uploadId)).toEqual([]);
    await expect(driver.completeMultipart(key, uploadId, [{ partNumber: 1, etag: second.etag }])).rejects.toMatchObject({
      code: "InvalidPart",
    });
    expect(await leases()).toEqual([]);
  });

  it("parts that do not lie end to end (a short middle part, a skipped number) are copied into the object", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: PART });
    const short = randomBytes(MIN_PART_BYTES); // allowed by S3, but it leaves a gap before part 2's slot
    const one = await put(uploadId, 1, short);
    const two = await put(uploadId, 2, randomBytes(PART));
    const three = await put(uploadId, 3, Buffer.from("tail"));
    const result = await driver.completeMultipart(key, uploadId, [
      { partNumber: 1, etag: one.etag },
      { partNumber: 3, etag: three.etag },
    ]);
    expect(result.size).toBe(MIN_PART_BYTES + 4);
    expect((await readAll(await driver.read(key))).equals(Buffer.concat([short, Buffer.from("tail")]))).toBe(true);
    expect(two.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(await readdir(join(dataDir, "multipart"))).toEqual([]);
  });

  it("parts left out of a contiguous completion are discarded, not appended", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: PART });
    const one = await put(uploadId, 1, Buffer.from("only this"));
    await put(uploadId, 4, randomBytes(100));
    expect(await driver.completeMultipart(key, uploadId, [{ partNumber: 1, etag: one.etag }])).toMatchObject({ size: 9 });
    expect((await readAll(await driver.read(key))).toString()).toBe("only this");
  });

  it("a part never spills into the next slot, whatever its URL allows", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: 1000 });
    await expect(put(uploadId, 1, randomBytes(1001), 5000)).rejects.toMatchObject({ code: "EntityTooLarge" });
    expect(await driver.listParts(key, uploadId)).toEqual([]);
  });

  it("one request per part at a time: a second one waits for the first to finish", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: PART });
    const slow = openBody(Buffer.from("slow "));
    const first = put(uploadId, 1, slow);
    await until(async () => (await leases()).includes(`${uploadId}.1`));
    let secondDone = false;
    const second = put(uploadId, 1, Buffer.from("retry")).finally(() => {
      secondDone = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(secondDone).toBe(false); // it did not write into the slot the first one is writing
    slow.end(Buffer.from("original"));
    await first;
    const retried = await second;
    expect((await driver.listParts(key, uploadId)).map((p) => p.etag)).toEqual([retried.etag]);
    await driver.completeMultipart(key, uploadId, [{ partNumber: 1, etag: retried.etag }]);
    expect((await readAll(await driver.read(key))).toString()).toBe("retry");
  });

  it("completion waits for parts in flight and refuses new ones until it is done", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: PART });
    const one = await put(uploadId, 1, Buffer.from("listed"));
    const slow = openBody(Buffer.from("in flight"));
    const inFlight = put(uploadId, 2, slow);
    await until(async () => (await leases()).includes(`${uploadId}.2`));
    const completing = driver.completeMultipart(key, uploadId, [{ partNumber: 1, etag: one.etag }]);
    await until(async () => (await leases()).includes(`${uploadId}.complete`));
    // A part that starts now could change the object after completion: refused, retryable.
    await expect(put(uploadId, 3, Buffer.from("late"))).rejects.toMatchObject({ code: "OperationAborted" });
    slow.end();
    await inFlight;
    expect(await completing).toMatchObject({ size: 6 });
    expect((await readAll(await driver.read(key))).toString()).toBe("listed");
    await expect(put(uploadId, 2, Buffer.from("after"))).rejects.toMatchObject({ code: "NoSuchUpload" });
    expect(await leases()).toEqual([]);
  });

  it("a lease left by a dead process, or untouched for a minute, is taken over; a live one is respected", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: PART });
    await mkdir(join(dataDir, "leases"), { recursive: true });
    await symlink(`${hostname()}:999999999:dead`, join(dataDir, "leases", `${uploadId}.1`));
    expect((await put(uploadId, 1, Buffer.from("a"))).size).toBe(1);

    const elsewhere = join(dataDir, "leases", `${uploadId}.complete`);
    await symlink("other-host:1:live", elsewhere);
    await expect(put(uploadId, 2, Buffer.from("b"))).rejects.toMatchObject({ code: "OperationAborted" });
    expect(await driver.sweepTemp()).toBe(0); // fresh: kept
    const old = new Date(Date.now() - 120_000);
    await lutimes(elsewhere, old, old);
    expect(await driver.sweepTemp()).toBe(1);
    expect((await put(uploadId, 2, Buffer.from("b"))).size).toBe(1);
  });

  it("an abort while a part streams in leaves nothing behind", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: PART });
    const slow = openBody(Buffer.from("half"));
    const inFlight = put(uploadId, 1, slow);
    await until(async () => (await leases()).includes(`${uploadId}.1`));
    await driver.abortMultipart(key, uploadId);
    slow.end(Buffer.from(" and the rest"));
    await expect(inFlight).rejects.toMatchObject({ code: "NoSuchUpload" });
    expect(await readdir(join(dataDir, "multipart"))).toEqual([]);
    expect(await leases()).toEqual([]);
  });
});
