import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { bullPrefix } from "@airlock/shared/redis";
import { QueueEvents } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { startWorkers } from "./runtime.ts";
import { createTestWorkerContext } from "./test-worker.ts";

const harness = await createTestWorkerContext({ SCANNER_PROVIDER: "mock" });
const { ctx } = harness;
const { env, redis, queues } = ctx;

afterAll(async () => {
  await harness.close();
});

describe("[WORKER][RUNTIME]", () => {
  it("finishes the active job before close() resolves (graceful shutdown)", async () => {
    let finished = false;
    let release: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      release = resolve;
    });
    const runtime = startWorkers(ctx, {
      "asset-thumbnail": {
        concurrency: () => 1,
        async process() {
          release();
          await new Promise((r) => setTimeout(r, 500));
          finished = true;
          return "success";
        },
      },
    });
    const job = await queues["asset-thumbnail"].add("t", { assetId: crypto.randomUUID() });
    await started;
    await runtime.close();
    expect(finished).toBe(true);
    expect(await job.getState()).toBe("completed");
  });

  it("fails a job with an invalid payload permanently, without retrying", async () => {
    let calls = 0;
    const runtime = startWorkers(ctx, {
      "asset-thumbnail": {
        concurrency: () => 1,
        async process() {
          calls++;
          return "success";
        },
      },
    });
    const job = await queues["asset-thumbnail"].add("bad", { assetId: "not-a-uuid" }, { attempts: 3 });
    const events = new QueueEvents("asset-thumbnail", { connection: redis.duplicate(), prefix: bullPrefix(env.REDIS_PREFIX) });
    await expect(job.waitUntilFinished(events)).rejects.toThrow(/invalid job payload/);
    await events.close();
    await runtime.close();
    expect(calls).toBe(0);
    const fresh = await queues["asset-thumbnail"].getJob(job.id!);
    expect(fresh?.attemptsMade).toBe(1);
  });

  it("the worker process exits 0 on SIGTERM", async () => {
    const main = fileURLToPath(new URL("./main.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", main], {
      env: { ...process.env, LOG_LEVEL: "info", WORKER_METRICS_PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    await expect.poll(() => output, { timeout: 20_000 }).toContain("worker ready");
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    expect(code, output).toBe(0);
    expect(output).toContain("stopped");
  });
});
