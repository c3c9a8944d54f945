import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkerContext } from "../context.ts";
import { cleanupRegistration } from "../processors/cleanup.ts";
import { reconcileRegistration } from "../processors/reconcile.ts";
import { createTestWorkerContext } from "../test-worker.ts";

describe("[NOTIFICATIONS][PENDING] cleanup runs and disabled webhooks are announced even when the worker stopped before", () => {
  let worker: Awaited<ReturnType<typeof createTestWorkerContext>>;
  beforeAll(async () => {
    worker = await createTestWorkerContext();
  });
  afterAll(async () => {
    await worker.close();
  });

  /** A cleanup job as BullMQ hands it to the processor (only what the processor touches). */
  const cleanupJob = (trigger: string) => ({ data: { dryRun: true, trigger }, updateProgress: async () => {} }) as never;
  const reconcile = () => reconcileRegistration.process({ data: {} } as never, worker.ctx, undefined);
  /** The worker's context with a notifications queue that refuses every job (Redis down for it). */
  const refusing = (): WorkerContext => ({
    ...worker.ctx,
    queues: { ...worker.ctx.queues, notifications: { add: () => Promise.reject(new Error("connection refused")) } as never },
  });
  const longAgo = () => new Date(Date.now() - 3600_000);

  it("a cleanup run keeps its mark while the announcement is refused; the reconciler announces it once, without the sample", async () => {
    const { db, queues } = worker.ctx;
    const trigger = `test-${randomUUID()}`;
    await cleanupRegistration.process(cleanupJob(trigger), refusing(), undefined);
    const run = await db.cleanupRun.findFirstOrThrow({ where: { trigger } });
    expect(run).toMatchObject({ announcePending: true, dryRun: true });
    expect(await queues.notifications.getJob(`cleanup.completed-${run.id}`)).toBeUndefined();

    await reconcile(); // finished just now: left to the worker that ran it
    expect((await db.cleanupRun.findUniqueOrThrow({ where: { id: run.id } })).announcePending).toBe(true);

    await db.cleanupRun.update({ where: { id: run.id }, data: { finishedAt: longAgo() } });
    expect(await reconcile()).toBe("success");
    const job = await queues.notifications.getJob(`cleanup.completed-${run.id}`);
    expect(job?.data).toMatchObject({ event: "cleanup.completed", payload: { runId: run.id, dryRun: true, errors: 0 } });
    const counts = (job?.data.payload as { counts?: object } | undefined)?.counts ?? {};
    expect(Object.keys(counts).sort()).toEqual(["abandoned", "failed", "orphans", "quarantined"]);
    expect((await db.cleanupRun.findUniqueOrThrow({ where: { id: run.id } })).announcePending).toBe(false);
  });

  it("a cleanup run announced at once leaves no mark", async () => {
    const { db, queues } = worker.ctx;
    const trigger = `test-${randomUUID()}`;
    await cleanupRegistration.process(cleanupJob(trigger), worker.ctx, undefined);
    const run = await db.cleanupRun.findFirstOrThrow({ where: { trigger } });
    expect(run.announcePending).toBe(false);
    expect(await queues.notifications.getJob(`cleanup.completed-${run.id}`)).toBeDefined();
  });

  it("an endpoint disabled without its announcement is announced by the reconciler, keyed by when it was disabled", async () => {
    const { db, queues } = worker.ctx;
    const disabledAt = longAgo();
    const endpoint = await db.webhookEndpoint.create({
      data: {
        url: "https://hooks.example.test/x",
        secret: "s".repeat(32),
        active: false,
        failureCount: 12,
        disabledAt,
        announcePending: true,
      },
    });
    expect(await reconcile()).toBe("success");
    const job = await queues.notifications.getJob(`webhook.disabled-${endpoint.id}-${disabledAt.getTime()}`);
    expect(job?.data).toMatchObject({ event: "webhook.disabled", payload: { endpointId: endpoint.id, failures: 12 } });
    expect((await db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } })).announcePending).toBe(false);
    await db.webhookEndpoint.delete({ where: { id: endpoint.id } });
  });
});
