import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { queueScan } from "@airlock/shared/scan-queue";
import { startVirusTotalStandIn } from "@airlock/shared/scanner/testing/virustotal-stand-in";
import { storedZip } from "@airlock/shared/scanner/testing/zip";
import { quarantineKey } from "@airlock/shared/storage";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedUploadedAsset, startTestWorker, waitForStatus } from "../test-worker.ts";
import { reconcileRegistration } from "./reconcile.ts";

const EICAR = Buffer.from("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*");
const terminal = ["CLEAN", "QUARANTINED", "FAILED"];

describe("[SCAN][PIPELINE] against the real clamd", () => {
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  beforeAll(async () => {
    worker = await startTestWorker();
    await worker.ctx.scanner.health();
  });
  afterAll(async () => {
    await worker.close();
  });

  it("a clean image ends CLEAN with a scan result and a WebP thumbnail", async () => {
    const png = await sharp({ create: { width: 640, height: 480, channels: 3, background: "#3366cc" } })
      .png()
      .toBuffer();
    const asset = await seedUploadedAsset(worker.ctx, png, { filename: "photo.png", mime: "image/png" });
    await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
    const done = await waitForStatus(worker.ctx, asset.id, terminal);
    expect(done.status).toBe("CLEAN");
    expect(done.sha256).toMatch(/^[0-9a-f]{64}$/);
    const results = await worker.ctx.db.scanResult.findMany({ where: { assetId: asset.id } });
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ engine: "clamav", verdict: "CLEAN" });
    expect(results[0]?.signatureVersion).toMatch(/ClamAV/);
    await expect
      .poll(async () => (await worker.ctx.db.asset.findUniqueOrThrow({ where: { id: asset.id } })).thumbnailKey, { timeout: 15_000 })
      .toBeTruthy();
    const withThumb = await worker.ctx.db.asset.findUniqueOrThrow({ where: { id: asset.id } });
    const thumb = await sharp(await readAll(await worker.ctx.storage.read(withThumb.thumbnailKey!))).metadata();
    expect(thumb).toMatchObject({ format: "webp", width: worker.ctx.env.THUMBNAIL_SIZE });
    const events = await worker.ctx.db.uploadEvent.findMany({ where: { assetId: asset.id } });
    expect(events.map((e) => e.type)).toEqual(["SCANNED"]);
    expect(events[0]).toMatchObject({ engine: "clamav" });
  });

  it.each([
    ["plain", () => EICAR],
    ["inside a zip", () => storedZip([{ name: "eicar.com", data: EICAR }])],
    ["inside a zip inside a zip", () => storedZip([{ name: "inner.zip", data: storedZip([{ name: "eicar.com", data: EICAR }]) }])],
  ])("EICAR %s ends QUARANTINED with its threat name, a security event, and no object left in uploads", async (_label, make) => {
    const asset = await seedUploadedAsset(worker.ctx, make(), { filename: "sample.zip", mime: "application/zip" });
    await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
    const done = await waitForStatus(worker.ctx, asset.id, terminal);
    expect(done.status).toBe("QUARANTINED");
    expect(done.threats.join(" ")).toMatch(/Eicar-Test-Signature/);
    expect(done.quarantinedAt).toBeInstanceOf(Date);
    expect(await worker.ctx.storage.head(asset.storageKey)).toBeNull();
    expect(await worker.ctx.storage.head(quarantineKey(asset.storageKey))).not.toBeNull();
    const security = await worker.ctx.db.securityEvent.findMany({ where: { assetId: asset.id } });
    expect(security).toHaveLength(1);
    expect(security[0]).toMatchObject({ type: "malware_detected", severity: "CRITICAL" });
    const events = await worker.ctx.db.uploadEvent.findMany({ where: { assetId: asset.id } });
    expect(events.map((e) => e.type).sort()).toEqual(["QUARANTINED", "SCANNED"]);
  });

  it("an infected file fires the virus_detected alert right away, announced to administrators", async () => {
    // Earlier detections may have fired it already (it stays firing for the window): start from resolved.
    await worker.ctx.db.alert.updateMany({
      where: { rule: "virus_detected", state: "FIRING" },
      data: { state: "RESOLVED", resolvedAt: new Date() },
    });
    const admin = await worker.ctx.db.user.create({ data: { email: `admin-${crypto.randomUUID()}@test.local`, role: "ADMIN" } });
    const asset = await seedUploadedAsset(worker.ctx, EICAR, { filename: "e.txt", mime: "text/plain" });
    await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
    expect((await waitForStatus(worker.ctx, asset.id, terminal)).status).toBe("QUARANTINED");
    await expect.poll(() => worker.ctx.db.alert.count({ where: { rule: "virus_detected", state: "FIRING" } }), { timeout: 15_000 }).toBe(1);
    await expect
      .poll(() => worker.ctx.db.notification.count({ where: { userId: admin.id, type: "alert.fired" } }), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(1);
  });

  it("a stream over clamd's limit ends QUARANTINED as unscannable, never clean", async () => {
    const asset = await seedUploadedAsset(worker.ctx, Buffer.alloc(26 * 1024 * 1024, 7), { filename: "huge.bin" });
    await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
    const done = await waitForStatus(worker.ctx, asset.id, terminal);
    expect(done).toMatchObject({ status: "QUARANTINED", failureCode: "unscannable" });
    const security = await worker.ctx.db.securityEvent.findFirst({ where: { assetId: asset.id } });
    expect(security?.type).toBe("unscannable_file");
  });

  it("a repeated job for a finished asset is a no-op", async () => {
    const asset = await seedUploadedAsset(worker.ctx, Buffer.from("just text"), { filename: "a.txt", mime: "text/plain" });
    await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
    const done = await waitForStatus(worker.ctx, asset.id, terminal);
    expect(done.status).toBe("CLEAN");
    expect(await queueScan(worker.ctx.queues, worker.ctx.env, asset.id)).toBe("queued");
    await expect
      .poll(async () => (await worker.ctx.queues["asset-virus-scan"].getJob(asset.id))?.getState(), { timeout: 10_000 })
      .toBe("completed");
    const after = await worker.ctx.db.asset.findUniqueOrThrow({ where: { id: asset.id } });
    expect(after.scannedAt).toEqual(done.scannedAt);
    expect(await worker.ctx.db.scanResult.count({ where: { assetId: asset.id } })).toBe(1);
    expect(await worker.ctx.db.uploadEvent.count({ where: { assetId: asset.id, type: "SCANNED" } })).toBe(1);
  });

  it("identical content is not rescanned: the verdict comes from the cache", async () => {
    const bytes = Buffer.from(`cache me ${Date.now()}`);
    const first = await seedUploadedAsset(worker.ctx, bytes, { filename: "c.txt", mime: "text/plain" });
    await queueScan(worker.ctx.queues, worker.ctx.env, first.id);
    const a = await waitForStatus(worker.ctx, first.id, terminal);
    const second = await seedUploadedAsset(worker.ctx, bytes, { filename: "c.txt", mime: "text/plain" });
    await worker.ctx.db.asset.update({ where: { id: second.id }, data: { sha256: a.sha256 } });
    await queueScan(worker.ctx.queues, worker.ctx.env, second.id);
    const b = await waitForStatus(worker.ctx, second.id, terminal);
    expect(b.status).toBe("CLEAN");
    const [firstResult] = await worker.ctx.db.scanResult.findMany({ where: { assetId: first.id } });
    const [secondResult] = await worker.ctx.db.scanResult.findMany({ where: { assetId: second.id } });
    expect(firstResult?.raw).toMatchObject({ cached: false });
    expect(secondResult?.raw).toMatchObject({ cached: true });
    expect(secondResult?.signatureVersion).toBe(firstResult?.signatureVersion);
  });

  it("the reconciler re-queues an asset stuck in UPLOADED (its scan was never queued)", async () => {
    const asset = await seedUploadedAsset(worker.ctx, Buffer.from("forgotten"), { filename: "f.txt", mime: "text/plain" });
    await worker.ctx.db.asset.update({ where: { id: asset.id }, data: { confirmedAt: new Date(Date.now() - 3600_000) } });
    expect(await worker.ctx.queues["asset-virus-scan"].getJob(asset.id)).toBeUndefined();
    const outcome = await reconcileRegistration.process({ data: {} } as never, worker.ctx, undefined);
    expect(outcome).toBe("success");
    expect((await waitForStatus(worker.ctx, asset.id, terminal)).status).toBe("CLEAN");
  });

  it("a scan's follow-ups clear their pending mark once they all ran", async () => {
    const asset = await seedUploadedAsset(worker.ctx, Buffer.from(`marked ${Date.now()}`), { filename: "m.txt", mime: "text/plain" });
    await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
    expect((await waitForStatus(worker.ctx, asset.id, terminal)).status).toBe("CLEAN");
    await expect
      .poll(async () => (await worker.ctx.db.asset.findUniqueOrThrow({ where: { id: asset.id } })).followUpsPending, { timeout: 10_000 })
      .toBe(false);
  });

  it("the reconciler finishes the follow-ups of scans whose worker died right after the verdict", async () => {
    // As a worker killed between the transaction that ended the scan and its follow-ups leaves them: the
    // status and verdict committed, the mark set, no event row, no notification, no job.
    const an = (bytes: string) => seedUploadedAsset(worker.ctx, Buffer.from(bytes), { filename: "k.txt", mime: "text/plain" });
    const [clean, infected] = [await an(`killed clean ${Date.now()}`), await an(`killed infected ${Date.now()}`)];
    const hourAgo = new Date(Date.now() - 3600_000);
    await worker.ctx.db.$executeRaw`
      UPDATE "Asset" SET status = 'CLEAN', "scannedAt" = ${hourAgo}, "scanDurationMs" = 42, "followUpsPending" = true,
                         "updatedAt" = ${hourAgo}
      WHERE id = ${clean.id}::uuid`;
    await worker.ctx.db.$executeRaw`
      UPDATE "Asset" SET status = 'QUARANTINED', threats = ARRAY['Eicar-Test-Signature'], "scannedAt" = ${hourAgo},
                         "quarantinedAt" = ${hourAgo}, "scanDurationMs" = 42, "followUpsPending" = true, "updatedAt" = ${hourAgo}
      WHERE id = ${infected.id}::uuid`;
    for (const asset of [clean, infected]) {
      await worker.ctx.db.scanResult.create({
        data: { assetId: asset.id, engine: "clamav", verdict: asset === clean ? "CLEAN" : "INFECTED", durationMs: 42 },
      });
    }

    expect(await reconcileRegistration.process({ data: {} } as never, worker.ctx, undefined)).toBe("success");

    const eventsOf = async (assetId: string) =>
      (await worker.ctx.db.uploadEvent.findMany({ where: { assetId } }))
        .map((e) => [e.type, e.engine, e.at])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(await eventsOf(clean.id)).toEqual([["SCANNED", "clamav", hourAgo]]);
    expect(await eventsOf(infected.id)).toEqual([
      ["QUARANTINED", null, hourAgo],
      ["SCANNED", "clamav", hourAgo],
    ]);
    // The owners hear of it (the notifications job ran), once.
    for (const [asset, type] of [
      [clean, "asset.clean"],
      [infected, "asset.quarantined"],
    ] as const) {
      await expect.poll(() => worker.ctx.db.notification.count({ where: { userId: asset.ownerId, type } }), { timeout: 15_000 }).toBe(1);
    }
    const marks = await worker.ctx.db.asset.findMany({
      where: { id: { in: [clean.id, infected.id] } },
      select: { followUpsPending: true },
    });
    expect(marks.map((m) => m.followUpsPending)).toEqual([false, false]);

    // A second run finds nothing left to do and repeats nothing.
    await reconcileRegistration.process({ data: {} } as never, worker.ctx, undefined);
    expect(await eventsOf(clean.id)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await worker.ctx.db.notification.count({ where: { userId: clean.ownerId, type: "asset.clean" } })).toBe(1);
  });
});

describe("[SCAN][VIRUSTOTAL] an asynchronous engine, against the v3 stand-in", () => {
  it("an unknown file is uploaded, the job waits delayed between polls, and the verdict lands", async () => {
    const standIn = await startVirusTotalStandIn({ queuedPolls: 2 });
    const worker = await startTestWorker({
      SCANNER_PROVIDER: "virustotal",
      VIRUSTOTAL_URL: standIn.baseUrl,
      VIRUSTOTAL_API_KEY: standIn.apiKey,
      VIRUSTOTAL_POLL_INTERVAL_MS: "200",
      VIRUSTOTAL_REQUESTS_PER_MINUTE: "600",
    });
    try {
      const infected = await seedUploadedAsset(worker.ctx, Buffer.concat([Buffer.from("prefix "), EICAR]), {
        filename: "v.txt",
        mime: "text/plain",
      });
      const clean = await seedUploadedAsset(worker.ctx, Buffer.from(`harmless ${Date.now()}`), { filename: "c.txt", mime: "text/plain" });
      await queueScan(worker.ctx.queues, worker.ctx.env, infected.id);
      await queueScan(worker.ctx.queues, worker.ctx.env, clean.id);
      await expect
        .poll(async () => (await worker.ctx.queues["asset-virus-scan"].getJob(infected.id))?.getState(), { timeout: 10_000 })
        .toBe("delayed");
      expect((await worker.ctx.db.asset.findUniqueOrThrow({ where: { id: infected.id } })).status).toBe("SCANNING");
      const done = await waitForStatus(worker.ctx, infected.id, terminal);
      expect(done.status).toBe("QUARANTINED");
      expect((await waitForStatus(worker.ctx, clean.id, terminal)).status).toBe("CLEAN");
      const polls = standIn.requests.filter((r) => r.path.includes("/analyses/"));
      expect(polls.length).toBeGreaterThanOrEqual(6); // two files, each queued twice then completed
      const [result] = await worker.ctx.db.scanResult.findMany({ where: { assetId: infected.id } });
      expect(result).toMatchObject({ engine: "virustotal", verdict: "INFECTED" });
    } finally {
      await worker.close();
      await standIn.close();
    }
  });
});

describe("[SCAN][FAIL-CLOSED]", () => {
  it("clamd unreachable → retries with backoff, then FAILED scan_unavailable, never CLEAN", async () => {
    const worker = await startTestWorker({ CLAMAV_PORT: "1", CLAMAV_SOCKET: "", SCAN_ATTEMPTS: "3", SCAN_BACKOFF_MS: "50" });
    try {
      const asset = await seedUploadedAsset(worker.ctx, Buffer.from("anything"), { filename: "a.txt", mime: "text/plain" });
      await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
      const done = await waitForStatus(worker.ctx, asset.id, ["CLEAN", "QUARANTINED", "FAILED"]);
      expect(done).toMatchObject({ status: "FAILED", failureCode: "scan_unavailable" });
      const results = await worker.ctx.db.scanResult.findMany({ where: { assetId: asset.id } });
      expect(results.map((r) => r.verdict)).toEqual(["ERROR", "ERROR", "ERROR"]);
      // The asset fails before BullMQ records the last attempt: wait for the job to settle.
      await expect.poll(async () => (await worker.ctx.queues["asset-virus-scan"].getJob(asset.id))?.getState()).toBe("failed");
      expect((await worker.ctx.queues["asset-virus-scan"].getJob(asset.id))?.attemptsMade).toBe(3);
    } finally {
      await worker.close();
    }
  });
});

describe("[SCAN][CRASH]", () => {
  it("a worker killed with SIGKILL mid-scan: another worker finishes the asset", async () => {
    // The first worker scans through a proxy that never answers, so it is mid-scan when killed.
    const net = await import("node:net");
    const stall = net.createServer((socket) => socket.on("data", () => {}));
    await new Promise<void>((r) => stall.listen(0, "127.0.0.1", r));
    const stallPort = (stall.address() as { port: number }).port;
    const helper = await startTestWorker({ WORKER_LOCK_DURATION_MS: "2000", WORKER_STALLED_INTERVAL_MS: "1000" });
    await helper.runtime.close(); // only its context is used here: seed, queue, observe
    const asset = await seedUploadedAsset(helper.ctx, Buffer.from("survive a crash"), { filename: "s.txt", mime: "text/plain" });
    const main = fileURLToPath(new URL("../main.ts", import.meta.url));
    const env = {
      ...process.env,
      DATA_DIR: helper.dataDir,
      SCANNER_PROVIDER: "clamav",
      CLAMAV_PORT: String(stallPort),
      CLAMAV_SOCKET: "",
      CLAMAV_TIMEOUT_MS: "600000",
      WORKER_LOCK_DURATION_MS: "2000",
      WORKER_STALLED_INTERVAL_MS: "1000",
      LOG_LEVEL: "warn",
      WORKER_METRICS_PORT: "0",
    };
    const doomed = spawn(process.execPath, ["--import", "tsx", main], { env, stdio: "ignore" });
    try {
      await queueScan(helper.ctx.queues, helper.ctx.env, asset.id);
      await waitForStatus(helper.ctx, asset.id, ["SCANNING"], 20_000);
      doomed.kill("SIGKILL");
      await once(doomed, "exit");
      const rescuer = await startTestWorker({
        DATA_DIR: helper.dataDir,
        WORKER_LOCK_DURATION_MS: "2000",
        WORKER_STALLED_INTERVAL_MS: "1000",
      });
      try {
        const done = await waitForStatus(rescuer.ctx, asset.id, ["CLEAN", "QUARANTINED", "FAILED"], 30_000);
        expect(done.status).toBe("CLEAN");
      } finally {
        await rescuer.ctx.queues["asset-virus-scan"].close();
        await rescuer.close();
      }
    } finally {
      doomed.kill("SIGKILL");
      stall.close();
      await helper.close();
    }
  });
});

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
