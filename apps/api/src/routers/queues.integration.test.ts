import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bullPrefix, createRedis } from "@airlock/shared/redis";
import { UnrecoverableError, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedUser, startTestServer, type TestServer, trpcError } from "../test-server.ts";

/**
 * Runs against its own Redis prefix: the BullMQ worker below fails every job it takes, which must not
 * touch other suites' queues.
 */
describe("[API][QUEUES] admin.queues", () => {
  let server: TestServer;
  let dataDir: string;
  let prefix: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "airlock-queues-"));
    prefix = `${process.env.REDIS_PREFIX}-queues-${randomBytes(3).toString("hex")}`;
    server = await startTestServer({ DATA_DIR: dataDir, REDIS_PREFIX: prefix });
  });
  afterAll(async () => {
    await Promise.all(Object.values(server.queues).map((q) => q.obliterate({ force: true }).catch(() => {})));
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Adds a thumbnail job and lets a worker fail it for good; returns its id. */
  async function failedJob(reason: string): Promise<string> {
    const assetId = randomUUID();
    const job = await server.queues["asset-thumbnail"].add("thumbnail", { assetId }, { jobId: assetId, attempts: 1 });
    const connection = createRedis(server.env.REDIS_URL);
    const worker = new Worker(
      "asset-thumbnail",
      async () => {
        throw new UnrecoverableError(reason);
      },
      { connection, prefix: bullPrefix(prefix), autorun: false },
    );
    const failed = new Promise<void>((resolve) => worker.on("failed", (j) => j?.id === job.id && resolve()));
    void worker.run();
    await failed;
    await worker.close();
    connection.disconnect();
    return job.id!;
  }

  it("is for administrators only", async () => {
    const { key } = await seedUser("USER");
    const client = server.client(key);
    for (const call of [
      () => client.admin.queues.list.query(),
      () => client.admin.queues.failed.query({ queue: "asset-virus-scan" }),
      () => client.admin.queues.retry.mutate({ queue: "asset-virus-scan", jobId: "x" }),
      () => client.admin.queues.remove.mutate({ queue: "asset-virus-scan", jobId: "x" }),
    ]) {
      expect((await trpcError(call())).data?.code).toBe("FORBIDDEN");
    }
  });

  it("counts jobs per queue and state, lists failed jobs with reasons, retries and removes them", async () => {
    const { key } = await seedUser("ADMIN");
    const client = server.client(key);
    const waiting = randomUUID();
    await server.queues["asset-virus-scan"].add("scan", { assetId: waiting }, { jobId: waiting });
    const failedId = await failedJob("sharp could not decode this image");

    const list = await client.admin.queues.list.query();
    expect(list.map((q) => q.name)).toEqual(expect.arrayContaining(["asset-virus-scan", "asset-thumbnail", "upload-cleanup"]));
    const scan = list.find((q) => q.name === "asset-virus-scan")!;
    expect(scan.counts.waiting).toBe(1);
    expect(scan.paused).toBe(false);
    expect(list.find((q) => q.name === "asset-thumbnail")!.counts.failed).toBe(1);

    const failed = await client.admin.queues.failed.query({ queue: "asset-thumbnail" });
    expect(failed.total).toBe(1);
    expect(failed.jobs[0]).toMatchObject({
      id: failedId,
      name: "thumbnail",
      failedReason: "sharp could not decode this image",
      attemptsMade: 1,
    });
    expect(failed.jobs[0]?.data).toEqual({ assetId: failedId });

    // Only failed jobs can be retried.
    expect((await trpcError(client.admin.queues.retry.mutate({ queue: "asset-virus-scan", jobId: waiting }))).data?.appCode).toBe(
      "INVALID_STATE",
    );
    await client.admin.queues.retry.mutate({ queue: "asset-thumbnail", jobId: failedId });
    expect(await server.queues["asset-thumbnail"].getJobState(failedId)).toBe("waiting");
    const after = await client.admin.queues.list.query();
    expect(after.find((q) => q.name === "asset-thumbnail")!.counts).toMatchObject({ failed: 0, waiting: 1 });

    await client.admin.queues.remove.mutate({ queue: "asset-thumbnail", jobId: failedId });
    expect(await server.queues["asset-thumbnail"].getJob(failedId)).toBeUndefined();
    const gone = await trpcError(client.admin.queues.remove.mutate({ queue: "asset-thumbnail", jobId: failedId }));
    expect(gone.data?.code).toBe("NOT_FOUND");
  });

  it("refuses an unknown queue name", async () => {
    const { key } = await seedUser("ADMIN");
    const error = await trpcError(server.client(key).admin.queues.failed.query({ queue: "nope" as never }));
    expect(error.data?.code).toBe("BAD_REQUEST");
  });
});
