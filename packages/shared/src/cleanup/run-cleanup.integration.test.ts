import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { Readable } from "node:stream";
import type { Asset, AssetStatus } from "@airlock/db";
import { CreateMultipartUploadCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storageDrivers } from "../../../../test/storage-drivers.ts";
import { getDb } from "../db.ts";
import { parseEnv } from "../env.ts";
import { quarantineKey, type StorageDriver, uploadKey } from "../storage/driver.ts";
import { createStorage, destroyBucketForTests, S3StorageDriver } from "../storage/index.ts";
import { LocalStorageDriver } from "../storage/local.ts";
import { DEFAULT_CLEANUP_AGES, runCleanup } from "./run-cleanup.ts";

const HOUR = 3600_000;
const db = getDb();

describe.each(storageDrivers)("[CLEANUP][$name]", (driver) => {
  let storage: StorageDriver;
  let overrides: Record<string, string>;
  let ownerId: string;
  beforeAll(async () => {
    overrides = await driver.env("cleanup");
    storage = createStorage(parseEnv({ ...process.env, ...overrides }));
    if (storage instanceof S3StorageDriver) await storage.ensureBucket(["http://localhost"]);
    ownerId = (await db.user.create({ data: { email: `cleanup-${randomUUID()}@test.local` } })).id;
  });
  afterAll(async () => {
    if (overrides.DATA_DIR) await rm(overrides.DATA_DIR, { recursive: true, force: true });
    if (storage instanceof S3StorageDriver) await destroyBucketForTests(storage);
  });

  /** An asset in `status`, aged `ageHours` on the clock its category uses, with `bytes` stored. */
  async function seed(status: AssetStatus, ageHours: number, bytes = 100): Promise<Asset> {
    const id = randomUUID();
    const key = uploadKey(ownerId, id, "f.bin");
    const at = new Date(Date.now() - ageHours * HOUR);
    if (bytes > 0)
      await storage.write(status === "QUARANTINED" ? quarantineKey(key) : key, Buffer.alloc(bytes, 1), "application/octet-stream");
    const asset = await db.asset.create({
      data: {
        id,
        ownerId,
        originalName: "f.bin",
        safeName: "f.bin",
        storageKey: key,
        declaredMime: "application/octet-stream",
        declaredSize: BigInt(bytes),
        size: BigInt(bytes),
        status,
        createdAt: at,
        quarantinedAt: status === "QUARANTINED" ? at : null,
      },
    });
    // updatedAt is set by Prisma on every write; age it explicitly for the FAILED category.
    await db.$executeRaw`UPDATE "Asset" SET "updatedAt" = ${at} WHERE id = ${id}::uuid`;
    return asset;
  }
  /** Starts a multipart upload of `key` the way a client would, with one part of `bytes` bytes. */
  async function startMultipart(key: string, bytes: number): Promise<string> {
    const body = Buffer.alloc(bytes, 2);
    if (storage instanceof LocalStorageDriver) {
      const uploadId = await storage.createMultipart(key, "application/octet-stream");
      await storage.uploadPartStream(key, uploadId, 1, Readable.from([body]), bytes);
      return uploadId;
    }
    if (!(storage instanceof S3StorageDriver)) throw new Error("unknown driver");
    const { UploadId } = await storage.client.send(new CreateMultipartUploadCommand({ Bucket: storage.bucket, Key: key }));
    if (!UploadId) throw new Error("no UploadId");
    await storage.client.send(new UploadPartCommand({ Bucket: storage.bucket, Key: key, UploadId, PartNumber: 1, Body: body }));
    return UploadId;
  }
  const statusOf = async (a: Asset) => (await db.asset.findUniqueOrThrow({ where: { id: a.id } })).status;

  it("deletes each category exactly when due, counting the bytes it frees", async () => {
    const { abandonedHours, failedHours, quarantinedHours } = DEFAULT_CLEANUP_AGES;
    const due = [
      await seed("PENDING_UPLOAD", abandonedHours + 0.05, 100),
      await seed("FAILED", failedHours + 0.05, 200),
      await seed("QUARANTINED", quarantinedHours + 0.05, 300),
    ];
    const notYet = [
      await seed("PENDING_UPLOAD", abandonedHours - 0.05),
      await seed("FAILED", failedHours - 0.05),
      await seed("QUARANTINED", quarantinedHours - 0.05),
    ];
    const untouchable = [await seed("CLEAN", 10_000), await seed("UPLOADED", 10_000), await seed("SCANNING", 10_000)];

    const report = await runCleanup(
      { db, storage },
      { dryRun: false, trigger: "test", categories: ["abandoned", "failed", "quarantined"] },
    );
    expect(report.errors).toEqual([]);
    expect(report.counts).toMatchObject({
      abandoned: { count: 1, bytes: 100 },
      failed: { count: 1, bytes: 200 },
      quarantined: { count: 1, bytes: 300 },
    });
    expect(report.bytesFreed).toBe(600);
    for (const a of due) {
      expect(await statusOf(a)).toBe("DELETED");
      expect(await storage.head(a.status === "QUARANTINED" ? quarantineKey(a.storageKey) : a.storageKey)).toBeNull();
      expect(await db.uploadEvent.count({ where: { assetId: a.id, type: "DELETED" } })).toBe(1);
    }
    for (const a of [...notYet, ...untouchable]) expect(await statusOf(a)).toBe(a.status);
    const run = await db.cleanupRun.findUniqueOrThrow({ where: { id: report.runId } });
    expect(run).toMatchObject({ dryRun: false, trigger: "test", bytesFreed: 600n });
    expect(run.finishedAt).toBeInstanceOf(Date);
  });

  it("a dry run changes nothing and predicts the real run exactly", async () => {
    const seeded = [await seed("PENDING_UPLOAD", 48, 10), await seed("FAILED", 24 * 8, 20), await seed("QUARANTINED", 24 * 31, 30)];
    const categories = ["abandoned", "failed", "quarantined"] as const;
    const dry = await runCleanup({ db, storage }, { dryRun: true, trigger: "test", categories });
    for (const a of seeded) expect(await statusOf(a)).toBe(a.status);
    expect(dry.bytesFreed).toBe(0);
    const real = await runCleanup({ db, storage }, { dryRun: false, trigger: "test", categories });
    expect(real.counts).toEqual(dry.counts);
    expect(real.sample.map((s) => s.assetId).sort()).toEqual(dry.sample.map((s) => s.assetId).sort());
    expect(real.bytesFreed).toBe(60);
  });

  it("records a storage error on one object and carries on with the rest", async () => {
    const broken = await seed("FAILED", 24 * 8, 10);
    const fine = await seed("FAILED", 24 * 8, 10);
    const failing = new Proxy(storage, {
      get(target, prop, receiver) {
        if (prop === "delete")
          return async (key: string) =>
            key === broken.storageKey ? Promise.reject(new Error("injected: storage refused")) : target.delete(key);
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const report = await runCleanup({ db, storage: failing }, { dryRun: false, trigger: "test", categories: ["failed"] });
    expect(report.errors).toEqual([{ category: "failed", assetId: broken.id, message: "injected: storage refused" }]);
    expect(await statusOf(fine)).toBe("DELETED");
    expect(await storage.head(fine.storageKey)).toBeNull();
    // The broken one is claimed (DELETED) but its object remains: the orphan sweep removes it later.
    expect(await storage.head(broken.storageKey)).not.toBeNull();
    const sweep = await runCleanup({ db, storage }, { dryRun: false, trigger: "test", categories: ["orphans"], olderThanHours: 0 });
    expect(sweep.sample.map((s) => s.key)).toContain(broken.storageKey);
    expect(await storage.head(broken.storageKey)).toBeNull();
  });

  it("two concurrent runs delete each asset once", async () => {
    const seeded = await Promise.all(Array.from({ length: 12 }, () => seed("FAILED", 24 * 8, 5)));
    const [a, b] = await Promise.all([
      runCleanup({ db, storage }, { dryRun: false, trigger: "test", categories: ["failed"], batchSize: 4 }),
      runCleanup({ db, storage }, { dryRun: false, trigger: "test", categories: ["failed"], batchSize: 4 }),
    ]);
    expect(a.counts.failed.count + b.counts.failed.count).toBe(seeded.length);
    expect(a.bytesFreed + b.bytesFreed).toBe(seeded.length * 5);
    expect(await db.uploadEvent.count({ where: { assetId: { in: seeded.map((s) => s.id) }, type: "DELETED" } })).toBe(seeded.length);
  });

  it("sweeps orphan objects older than the abandoned age and leaves live ones", async () => {
    const orphanKey = uploadKey(ownerId, randomUUID(), "orphan.bin");
    await storage.write(orphanKey, Buffer.alloc(42, 1), "application/octet-stream");
    const live = await seed("CLEAN", 1, 7);
    const fresh = await runCleanup({ db, storage }, { dryRun: false, trigger: "test", categories: ["orphans"] });
    expect(fresh.sample.map((s) => s.key)).not.toContain(orphanKey);
    const sweep = await runCleanup({ db, storage }, { dryRun: false, trigger: "test", categories: ["orphans"], olderThanHours: 0 });
    expect(sweep.sample).toContainEqual({ category: "orphans", key: orphanKey, bytes: 42, assetId: undefined });
    expect(await storage.head(orphanKey)).toBeNull();
    expect(await storage.head(live.storageKey)).not.toBeNull();
  });

  it("aborts multipart uploads no pending asset is bound to once they are older than the abandoned age; the bound one goes with its asset", async () => {
    const asset = await seed("PENDING_UPLOAD", DEFAULT_CLEANUP_AGES.abandonedHours + 1, 0);
    // The client started two uploads for the asset and signed a part of one: that one is bound.
    const bound = await startMultipart(asset.storageKey, 10);
    const stray = await startMultipart(asset.storageKey, 20);
    await db.asset.update({ where: { id: asset.id }, data: { uploadId: bound } });
    const goneKey = uploadKey(ownerId, randomUUID(), "gone.bin"); // no asset row at all
    const gone = await startMultipart(goneKey, 30);
    const label = (key: string, uploadId: string) => `${key} (multipart upload ${uploadId})`;
    const multipartEntries = (report: Awaited<ReturnType<typeof runCleanup>>) =>
      report.sample.filter((s) => s.key.includes("(multipart upload ")).map((s) => [s.key, s.bytes]);
    const inProgress = async () => (await storage.listMultipartUploads("uploads/")).items.map((u) => u.uploadId);

    const early = await runCleanup({ db, storage }, { dryRun: false, trigger: "test", categories: ["orphans"], sampleSize: 1000 });
    expect(multipartEntries(early)).toEqual([]);
    expect(await inProgress()).toEqual(expect.arrayContaining([bound, stray, gone]));

    const later = new Date(Date.now() + (DEFAULT_CLEANUP_AGES.abandonedHours + 1) * HOUR);
    const options = { trigger: "test", categories: ["orphans"] as const, sampleSize: 1000, now: later };
    const dry = await runCleanup({ db, storage }, { ...options, dryRun: true });
    const expected = [
      [label(asset.storageKey, stray), 20],
      [label(goneKey, gone), 30],
    ];
    expect(multipartEntries(dry)).toEqual(expect.arrayContaining(expected));
    expect(multipartEntries(dry)).toHaveLength(2);
    expect(await inProgress()).toEqual(expect.arrayContaining([bound, stray, gone]));

    const real = await runCleanup({ db, storage }, { ...options, dryRun: false });
    expect(multipartEntries(real).sort()).toEqual(multipartEntries(dry).sort());
    expect(await inProgress()).toContain(bound);
    expect(await inProgress()).not.toEqual(expect.arrayContaining([stray]));
    expect(await inProgress()).not.toEqual(expect.arrayContaining([gone]));
    expect(await storage.listParts(asset.storageKey, bound)).toHaveLength(1);

    // Only the orphan sweeps ran on a later clock: the abandoned category changes rows of the shared database.
    const abandoned = await runCleanup({ db, storage }, { dryRun: false, trigger: "test", categories: ["abandoned"], sampleSize: 1000 });
    expect(abandoned.sample.find((s) => s.assetId === asset.id)).toMatchObject({ bytes: 10 });
    expect(await inProgress()).not.toEqual(expect.arrayContaining([bound]));
    expect(await statusOf(asset)).toBe("DELETED");
  });
});
