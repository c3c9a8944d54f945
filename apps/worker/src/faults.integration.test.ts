import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { queueScan } from "@airlock/shared/scan-queue";
import { deflateBomb, storedZip, zipOf } from "@airlock/shared/scanner/testing/zip";
import { destroyBucketForTests, S3StorageDriver } from "@airlock/shared/storage";
import type { Job } from "bullmq";
import { describe, expect, it } from "vitest";
import { type FaultMode, startFaultProxy } from "../../../test/fault-proxy.ts";
import { s3Env } from "../../../test/storage-drivers.ts";
import type { WorkerContext } from "./context.ts";
import { scanRegistration } from "./processors/scan.ts";
import { createTestWorkerContext, seedUploadedAsset, startTestWorker, waitForStatus } from "./test-worker.ts";

/**
 * Fault injection around the scan (issue 11), against the real clamd, Redis, PostgreSQL and Ceph RGW. Each
 * test prints what it injected and checks the invariant: the asset ends terminal, never CLEAN without a
 * clean verdict, with exactly one transition; a CLEAN asset keeps its object. (SIGKILL mid-scan and clamd
 * refusing connections are in processors/scan.integration.test.ts.)
 */
const TERMINAL = ["CLEAN", "QUARANTINED", "FAILED"];
const CLAMD = { host: process.env.CLAMAV_HOST ?? "127.0.0.1", port: Number(process.env.CLAMAV_PORT ?? 3310) };

/** The invariant for one asset: the expected end state, one transition out of SCANNING, and verdicts that justify it. */
async function expectSettled(ctx: WorkerContext, assetId: string, status: "CLEAN" | "FAILED") {
  const asset = await ctx.db.asset.findUniqueOrThrow({ where: { id: assetId }, include: { scanResults: true } });
  expect(asset.status).toBe(status);
  const events = await ctx.db.uploadEvent.findMany({ where: { assetId } });
  const verdicts = asset.scanResults.map((r) => r.verdict);
  if (status === "CLEAN") {
    expect(verdicts, "one clean verdict, recorded once").toEqual(["CLEAN"]);
    expect(events.filter((e) => e.type === "SCANNED")).toHaveLength(1);
    expect(await ctx.storage.head(asset.storageKey), "the CLEAN asset's object is still there").not.toBeNull();
  } else {
    expect(asset.failureCode).toBe("scan_unavailable");
    expect(
      verdicts.every((v) => v === "ERROR"),
      `only errors recorded: ${verdicts}`,
    ).toBe(true);
    expect(events.filter((e) => e.type === "FAILED")).toHaveLength(1);
    expect(events.filter((e) => e.type === "SCANNED")).toHaveLength(0);
  }
  return asset;
}

describe("[FAULTS][WORKER] shutdown and races mid-scan", () => {
  it("SIGTERM mid-scan: the worker finishes the active job, then exits 0; the asset is CLEAN once", async () => {
    const clamd = await startFaultProxy(CLAMD);
    clamd.mode = "delay";
    clamd.delayMs = 2000;
    const helper = await createTestWorkerContext();
    const main = fileURLToPath(new URL("./main.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", main], {
      env: {
        ...process.env,
        DATA_DIR: helper.dataDir,
        SCANNER_PROVIDER: "clamav",
        CLAMAV_PORT: String(clamd.port),
        CLAMAV_SOCKET: "",
        LOG_LEVEL: "warn",
        WORKER_METRICS_PORT: "0",
      },
      stdio: "ignore",
    });
    try {
      const asset = await seedUploadedAsset(helper.ctx, Buffer.from("finish me before you go"), { filename: "t.txt", mime: "text/plain" });
      await queueScan(helper.ctx.queues, helper.ctx.env, asset.id);
      await waitForStatus(helper.ctx, asset.id, ["SCANNING"], 30_000);
      console.info("[fault] SIGTERM to a worker process while clamd holds its answer for 2 s");
      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      expect(code, "a graceful exit").toBe(0);
      // Finished by the worker that was told to stop, not by a later one: nothing else is running.
      await expectSettled(helper.ctx, asset.id, "CLEAN");
      expect(await (await helper.ctx.queues["asset-virus-scan"].getJob(asset.id))?.getState()).toBe("completed");
    } finally {
      child.kill("SIGKILL");
      await clamd.close();
      await helper.close();
    }
  });

  it("two workers racing the same asset: one transition, one set of scan results", async () => {
    const clamd = await startFaultProxy(CLAMD);
    clamd.mode = "delay";
    clamd.delayMs = 500;
    const overrides = { CLAMAV_PORT: String(clamd.port), CLAMAV_SOCKET: "" };
    const first = await createTestWorkerContext(overrides);
    const second = await createTestWorkerContext({ ...overrides, DATA_DIR: first.dataDir });
    try {
      const asset = await seedUploadedAsset(first.ctx, Buffer.from("scanned twice at once"), { filename: "r.txt", mime: "text/plain" });
      // What a lost lock looks like: the job handed to a second worker while the first still runs it.
      console.info("[fault] the same scan job run by two workers at once (a lock lost mid-scan)");
      const job = { id: asset.id, data: { assetId: asset.id }, attemptsMade: 0, opts: { attempts: 3 } } as unknown as Job;
      const results = await Promise.all([
        scanRegistration.process(job as never, first.ctx, "token-1"),
        scanRegistration.process(job as never, second.ctx, "token-2"),
      ]);
      expect(results).toContain("success");
      await expectSettled(first.ctx, asset.id, "CLEAN");
    } finally {
      await clamd.close();
      await second.close();
      await first.close();
    }
  });
});

describe("[FAULTS][SCANNER] clamd misbehaving through a proxy", () => {
  it.each<[FaultMode, string]>([
    ["garbage", "clamd answers garbage"],
    ["stall", "clamd accepts the stream and never answers (timeout 500 ms)"],
  ])("%s: retried, then FAILED scan_unavailable, never CLEAN", async (mode, what) => {
    const clamd = await startFaultProxy(CLAMD);
    clamd.mode = mode;
    const worker = await startTestWorker({
      CLAMAV_PORT: String(clamd.port),
      CLAMAV_SOCKET: "",
      CLAMAV_TIMEOUT_MS: "500",
      SCAN_ATTEMPTS: "2",
      SCAN_BACKOFF_MS: "50",
    });
    try {
      const asset = await seedUploadedAsset(worker.ctx, Buffer.from("never clean by accident"), { filename: "g.txt", mime: "text/plain" });
      console.info(`[fault] ${what}; 2 attempts`);
      await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
      await waitForStatus(worker.ctx, asset.id, TERMINAL, 30_000);
      const done = await expectSettled(worker.ctx, asset.id, "FAILED");
      expect(done.scanResults).toHaveLength(2);
    } finally {
      await worker.close();
      await clamd.close();
    }
  });
});

describe("[FAULTS][SCANNER] clamd dies mid-stream", () => {
  const MiB = 1024 * 1024;

  async function startCutting(attempts: number) {
    const clamd = await startFaultProxy(CLAMD);
    clamd.mode = "cut";
    clamd.cutAfterBytes = 256 * 1024;
    const worker = await startTestWorker({
      CLAMAV_PORT: String(clamd.port),
      CLAMAV_SOCKET: "",
      SCAN_ATTEMPTS: String(attempts),
      SCAN_BACKOFF_MS: "1000",
    });
    // 1 MiB of unique bytes: no verdict cache can answer, and the cut lands inside the stream.
    const asset = await seedUploadedAsset(worker.ctx, randomBytes(MiB), { filename: "big.bin" });
    return { clamd, worker, asset };
  }

  it("the connection drops after 256 KiB of 1 MiB: no verdict from a partial stream; the retry scans the whole file and only then is it CLEAN", async () => {
    const { clamd, worker, asset } = await startCutting(3);
    try {
      console.info("[fault] clamd connection dropped after 256 KiB of a 1 MiB INSTREAM, then clamd healthy again");
      await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
      await expect.poll(() => clamd.cuts, { timeout: 15_000, interval: 10 }).toBeGreaterThanOrEqual(1);
      expect((await worker.ctx.db.asset.findUniqueOrThrow({ where: { id: asset.id } })).status).toBe("SCANNING");
      clamd.mode = "pass";
      await waitForStatus(worker.ctx, asset.id, TERMINAL, 30_000);
      const done = await worker.ctx.db.asset.findUniqueOrThrow({
        where: { id: asset.id },
        include: { scanResults: { orderBy: { createdAt: "asc" } } },
      });
      expect(done.status).toBe("CLEAN");
      expect(done.scanResults.map((r) => r.verdict)).toEqual(["ERROR", "CLEAN"]);
      expect(JSON.stringify(done.scanResults[0]?.raw ?? null)).toMatch(/closed|reset|EPIPE|answer/i);
      expect(clamd.cuts).toBe(1);
      expect(await worker.ctx.storage.head(done.storageKey), "the CLEAN asset's object is still there").toMatchObject({ size: MiB });
    } finally {
      await worker.close();
      await clamd.close();
    }
  });

  it("the connection drops mid-stream on every attempt: FAILED scan_unavailable, never CLEAN", async () => {
    const { clamd, worker, asset } = await startCutting(2);
    try {
      console.info("[fault] clamd connection dropped after 256 KiB of a 1 MiB INSTREAM on every attempt; 2 attempts");
      await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
      await waitForStatus(worker.ctx, asset.id, TERMINAL, 30_000);
      const done = await expectSettled(worker.ctx, asset.id, "FAILED");
      expect(done.scanResults).toHaveLength(2);
      expect(clamd.cuts).toBe(2);
    } finally {
      await worker.close();
      await clamd.close();
    }
  });
});

describe("[FAULTS][STORAGE] Ceph RGW unreachable during the scan", () => {
  it("the scan cannot read the object: retried, then FAILED scan_unavailable; the object is not lost", async () => {
    const rgw = new URL(s3Env("x").S3_ENDPOINT ?? "");
    const proxy = await startFaultProxy({ host: rgw.hostname, port: Number(rgw.port || 80) });
    const worker = await startTestWorker({
      ...s3Env("faults-scan"),
      S3_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
      SCAN_ATTEMPTS: "2",
      SCAN_BACKOFF_MS: "50",
    });
    const storage = worker.ctx.storage as S3StorageDriver;
    try {
      await storage.ensureBucket(["http://127.0.0.1"]);
      const asset = await seedUploadedAsset(worker.ctx, Buffer.from("stored, then out of reach"), {
        filename: "o.txt",
        mime: "text/plain",
      });
      console.info("[fault] S3 connections refused (proxy down) while the asset is scanned; 2 attempts");
      await proxy.down();
      await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
      await waitForStatus(worker.ctx, asset.id, TERMINAL, 30_000);
      await expectSettled(worker.ctx, asset.id, "FAILED");
      await proxy.up();
      expect(await storage.head(asset.storageKey), "the object survived the outage").toMatchObject({ size: 25 });
    } finally {
      await proxy.up();
      if (worker.ctx.storage instanceof S3StorageDriver) await destroyBucketForTests(worker.ctx.storage);
      await worker.close();
      await proxy.close();
    }
  });
});

describe("[FAULTS][ARCHIVES] hostile archives against the real clamd", () => {
  const EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
  it.each([
    {
      what: "EICAR in a zip in a zip in a zip",
      bytes: async () =>
        storedZip([{ name: "l1.zip", data: storedZip([{ name: "l2.zip", data: storedZip([{ name: "eicar.com", data: EICAR }]) }]) }]),
      failureCode: null,
      engine: "clamav",
    },
    {
      // More entries than clamd scans (MaxFiles 10,000): the archive check says so before clamd is asked
      // (clamd itself reports it too, with AlertExceedsMax: scanner/clamav.integration.test.ts).
      what: "a zip of 20,000 entries",
      bytes: async () => storedZip(Array.from({ length: 20_000 }, (_, i) => ({ name: `f${i}.txt`, data: "x" }))),
      failureCode: "unscannable",
      engine: "archive-limits",
    },
    {
      // clamd 1.4 answers OK for this one even with AlertExceedsMax: only the archive check stops it.
      what: "a deflate bomb: 300 MiB of zeros in a ~300 KB zip",
      bytes: async () => zipOf([await deflateBomb("zeros.bin", 300 * 1024 * 1024)]),
      failureCode: "unscannable",
      engine: "archive-limits",
    },
  ])("$what ends QUARANTINED, never CLEAN", async ({ what, bytes, failureCode, engine }) => {
    const worker = await startTestWorker();
    try {
      console.info(`[fault] ${what}`);
      const asset = await seedUploadedAsset(worker.ctx, await bytes(), { filename: "a.zip", mime: "application/zip" });
      await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
      const done = await waitForStatus(worker.ctx, asset.id, TERMINAL, 30_000);
      expect(done).toMatchObject({ status: "QUARANTINED", failureCode });
      const results = await worker.ctx.db.scanResult.findMany({ where: { assetId: asset.id } });
      expect(results.map((r) => [r.engine, r.verdict])).toEqual([[engine, failureCode ? "UNSCANNABLE" : "INFECTED"]]);
      expect(await worker.ctx.storage.head(asset.storageKey), "nothing left in uploads/").toBeNull();
    } finally {
      await worker.close();
    }
  });
});
