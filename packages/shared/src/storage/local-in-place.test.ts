import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { lutimes, mkdir, readdir, stat, symlink } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { type LocalStorageDriver, MIN_PART_BYTES } from "./local.ts";
import { holderOf } from "./local-leases.ts";
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

  it("a short part before the last leaves a gap before the next slot: the parts are copied into the object", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: PART });
    const short = randomBytes(MIN_PART_BYTES); // allowed by S3, but part 2 starts PART bytes in
    const tail = Buffer.from("tail");
    const [one, two] = [await put(uploadId, 1, short), await put(uploadId, 2, tail)];
    const result = await driver.completeMultipart(key, uploadId, [
      { partNumber: 1, etag: one.etag },
      { partNumber: 2, etag: two.etag },
    ]);
    expect(result.size).toBe(MIN_PART_BYTES + 4);
    expect((await readAll(await driver.read(key))).equals(Buffer.concat([short, tail]))).toBe(true);
    expect(await readdir(join(dataDir, "multipart"))).toEqual([]);
  });

  it("parts left out (a skipped number, a part after the last) are not in the object", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: PART });
    const first = randomBytes(PART);
    const one = await put(uploadId, 1, first);
    await put(uploadId, 2, randomBytes(PART));
    const three = await put(uploadId, 3, Buffer.from("three"));
    await put(uploadId, 4, randomBytes(100));
    const result = await driver.completeMultipart(key, uploadId, [
      { partNumber: 1, etag: one.etag },
      { partNumber: 3, etag: three.etag },
    ]);
    expect(result.size).toBe(PART + 5);
    expect((await readAll(await driver.read(key))).equals(Buffer.concat([first, Buffer.from("three")]))).toBe(true);
  });

  it("a refused completion keeps every part, and a later one with the right list succeeds", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: PART });
    const one = await put(uploadId, 1, Buffer.from("one"));
    const two = await put(uploadId, 2, Buffer.from("two"));
    await expect(
      driver.completeMultipart(key, uploadId, [
        { partNumber: 1, etag: one.etag },
        { partNumber: 2, etag: "0".repeat(32) },
      ]),
    ).rejects.toMatchObject({ code: "EntityTooSmall" });
    expect((await driver.listParts(key, uploadId)).map((p) => p.etag)).toEqual([one.etag, two.etag]);
    await driver.completeMultipart(key, uploadId, [{ partNumber: 1, etag: one.etag }]);
    expect((await readAll(await driver.read(key))).toString()).toBe("one");
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
    let completed = false;
    const completing = driver.completeMultipart(key, uploadId, [{ partNumber: 1, etag: one.etag }]).finally(() => {
      completed = true;
    });
    await until(async () => (await leases()).includes(`${uploadId}.complete`));
    // A part that starts now could change the object after completion: refused, retryable.
    await expect(put(uploadId, 3, Buffer.from("late"))).rejects.toMatchObject({ code: "SlowDown" });
    expect(completed).toBe(false); // still waiting for part 2
    slow.end();
    await inFlight;
    expect(await completing).toMatchObject({ size: 6 });
    expect((await readAll(await driver.read(key))).toString()).toBe("listed");
    await expect(put(uploadId, 2, Buffer.from("after"))).rejects.toMatchObject({ code: "NoSuchUpload" });
    expect(await leases()).toEqual([]);
  });

  it("a lease of a process that ended is taken over at once; one of a running process never, however old", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: PART });
    const leaseDir = join(dataDir, "leases");
    await mkdir(leaseDir, { recursive: true });
    const ended = spawnSync(process.execPath, ["-e", "process.pid"]).pid;
    await symlink(`${holderOf(ended)}dead`, join(leaseDir, `${uploadId}.1`));
    expect((await put(uploadId, 1, Buffer.from("a"))).size).toBe(1);

    // A running process (this one, as another holder) that has not touched its lease for two minutes: a
    // stopped or starved writer may still write, so its lease stands.
    const completing = join(leaseDir, `${uploadId}.complete`);
    await symlink(`${holderOf(process.pid)}other`, completing);
    const old = new Date(Date.now() - 120_000);
    await lutimes(completing, old, old);
    await expect(put(uploadId, 2, Buffer.from("b"))).rejects.toMatchObject({ code: "SlowDown" });
    expect(await driver.sweepTemp()).toBe(0);
    expect(await leases()).toContain(`${uploadId}.complete`);
  });

  it("a holder this process cannot check (another container) loses its lease once untouched for a minute", async () => {
    const uploadId = await driver.createMultipart(key, "application/octet-stream", { partBytes: PART });
    const leaseDir = join(dataDir, "leases");
    await mkdir(leaseDir, { recursive: true });
    const elsewhere = join(leaseDir, `${uploadId}.complete`);
    await symlink("other-space:1:0:live", elsewhere);
    await expect(put(uploadId, 1, Buffer.from("a"))).rejects.toMatchObject({ code: "SlowDown" });
    expect(await driver.sweepTemp()).toBe(0); // fresh: kept
    const old = new Date(Date.now() - 120_000);
    await lutimes(elsewhere, old, old);
    expect(await driver.sweepTemp()).toBe(1);
    const one = await put(uploadId, 1, Buffer.from("a"));

    // A part lease taken over from such a holder: it may still be writing into the data file, so the
    // completion copies the parts into a new file rather than renaming the one it holds open.
    await symlink("other-space:1:0:writer", join(leaseDir, `${uploadId}.2`));
    await lutimes(join(leaseDir, `${uploadId}.2`), old, old);
    const assembling = await stat(join(dataDir, "multipart", uploadId, "data"));
    await driver.completeMultipart(key, uploadId, [{ partNumber: 1, etag: one.etag }]);
    expect((await stat(join(dataDir, "objects", ...key.split("/")))).ino).not.toBe(assembling.ino);
    expect((await readAll(await driver.read(key))).toString()).toBe("a");
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
