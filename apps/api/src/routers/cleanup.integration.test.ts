import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedUser, startTestServer, type TestServer, trpcError } from "../test-server.ts";

describe("[API][CLEANUP]", () => {
  let server: TestServer;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "airlock-api-cleanup-"));
    server = await startTestServer({ DATA_DIR: dataDir });
  });
  afterAll(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("is for administrators only", async () => {
    const { key } = await seedUser("USER");
    for (const call of [
      () => server.client(key).admin.cleanup.preview.mutate({}),
      () => server.client(key).admin.cleanup.run.mutate({}),
      () => server.client(key).admin.cleanup.history.query({}),
    ]) {
      expect((await trpcError(call())).data?.code).toBe("FORBIDDEN");
    }
  });

  it("previews without deleting, queues a real run, and lists the history", async () => {
    const { key, user } = await seedUser("ADMIN");
    const client = server.client(key);
    const init = await client.upload.initiate.mutate({ filename: "old.txt", mimeType: "text/plain", size: 10 });
    await server.db.asset.update({ where: { id: init.assetId }, data: { createdAt: new Date(Date.now() - 48 * 3600_000) } });
    const preview = await client.admin.cleanup.preview.mutate({ categories: ["abandoned"] });
    expect(preview.dryRun).toBe(true);
    // Other suites share the database, so the sample may show their assets first: count, don't search.
    expect(preview.counts.abandoned.count).toBeGreaterThanOrEqual(1);
    expect((await client.upload.status.query({ assetId: init.assetId })).status).toBe("PENDING_UPLOAD");
    const { jobId } = await client.admin.cleanup.run.mutate({ categories: ["abandoned"] });
    const job = await server.queues["upload-cleanup"].getJob(jobId!);
    expect(job?.data).toMatchObject({ dryRun: false, trigger: "admin", requestedBy: user.id, categories: ["abandoned"] });
    const history = await client.admin.cleanup.history.query({});
    expect(history.find((r) => r.id === preview.runId)).toMatchObject({ dryRun: true, trigger: "admin" });
  });

  it("answers an unknown category with BAD_REQUEST", async () => {
    const { key } = await seedUser("ADMIN");
    const error = await trpcError(server.client(key).admin.cleanup.preview.mutate({ categories: ["everything" as never] }));
    expect(error.data?.code).toBe("BAD_REQUEST");
  });
});
