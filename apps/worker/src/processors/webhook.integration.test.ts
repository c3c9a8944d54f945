import { randomUUID } from "node:crypto";
import { deleteKeysWithPrefix } from "@airlock/shared/redis";
import {
  assertWebhookTarget,
  createEndpoint,
  fanOutWebhook,
  isAllowedAddress,
  postWebhook,
  replayDelivery,
  rotateEndpointSecret,
} from "@airlock/shared/webhooks";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver } from "../test-receiver.ts";
import { startTestWorker } from "../test-worker.ts";
import { requeueOverdueDeliveries } from "./reconcile.ts";

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describe("[WORKER][WEBHOOKS]", () => {
  // A Redis prefix of its own: workers of other test files (with the SSRF guard on) never take these jobs.
  const prefix = `${process.env.REDIS_PREFIX}-webhooks`;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  let receiver: Receiver;
  const deps = () => ({ db: worker.ctx.db, queues: worker.ctx.queues, allowPrivate: true });

  beforeAll(async () => {
    worker = await startTestWorker({
      REDIS_PREFIX: prefix,
      SCANNER_PROVIDER: "mock",
      WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
      WEBHOOK_RETRY_BASE_MS: "50",
      WEBHOOK_MAX_ATTEMPTS: "6",
      WEBHOOK_DISABLE_AFTER_FAILURES: "5",
      WEBHOOK_TIMEOUT_MS: "500",
    });
    receiver = await startReceiver((path, n) => {
      if (path.startsWith("/flaky")) return n <= 3 ? 500 : 200;
      if (path.startsWith("/dead")) return 503;
      if (path.startsWith("/slow")) return { status: 200, delayMs: 2_000 };
      if (path.startsWith("/huge")) return { status: 200, bodyBytes: 5 * 1024 * 1024 };
      return 204;
    });
  });
  afterAll(async () => {
    await receiver.close();
    await worker.close();
    await deleteKeysWithPrefix(worker.ctx.redis.duplicate(), prefix).catch(() => 0);
  });

  async function endpointFor(path: string, events: string[]) {
    return createEndpoint(deps(), { url: `${receiver.url}${path}`, events });
  }

  async function waitForDelivery(id: string, status: "SUCCEEDED" | "FAILED") {
    await expect
      .poll(async () => (await worker.ctx.db.webhookDelivery.findUniqueOrThrow({ where: { id } })).status, {
        timeout: 15_000,
        interval: 50,
      })
      .toBe(status);
    return worker.ctx.db.webhookDelivery.findUniqueOrThrow({ where: { id } });
  }

  it("a receiver that fails 3 times then succeeds gets the delivery exactly once more, signed per Standard Webhooks", async () => {
    const path = `/flaky-${randomUUID()}`;
    const { endpoint, secret } = await endpointFor(path, ["cleanup.completed"]);
    expect(secret).toMatch(/^whsec_/);
    const runId = randomUUID();
    const ids = await fanOutWebhook(worker.ctx, "cleanup.completed", { runId });
    const mine = (await worker.ctx.db.webhookDelivery.findMany({ where: { id: { in: ids }, endpointId: endpoint.id } }))[0];
    if (!mine) throw new Error("no delivery for the endpoint");
    const done = await waitForDelivery(mine.id, "SUCCEEDED");
    expect(done).toMatchObject({ attempt: 4, responseCode: 200, error: null });
    expect(done.latencyMs).toBeGreaterThanOrEqual(0);
    expect(done.responseExcerpt).toBe("answer 200");

    await new Promise((r) => setTimeout(r, 400)); // no late duplicate
    const got = receiver.to(path);
    expect(got.map((r) => r.answered)).toEqual([500, 500, 500, 200]);
    // Every attempt is the same message (same id and body); the receiver verifies it with the library.
    expect(new Set(got.map((r) => r.headers["webhook-id"]))).toEqual(new Set([mine.id]));
    const last = got[3];
    if (!last) throw new Error("no last request");
    const verified = new Webhook(secret).verify(last.body, last.headers as Record<string, string>);
    expect(verified).toMatchObject({ type: "cleanup.completed", data: { runId } });
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(32, 1).toString("base64")}`).verify(last.body, last.headers as Record<string, string>),
    ).toThrow();
    expect((await worker.ctx.db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } })).failureCount).toBe(0);

    // Replay: a new delivery with the very same payload.
    const replay = await replayDelivery(worker.ctx, mine.id);
    expect(replay.id).not.toBe(mine.id);
    await waitForDelivery(replay.id, "SUCCEEDED");
    const again = receiver.to(path).at(-1);
    expect(again?.headers["webhook-id"]).toBe(replay.id);
    expect(JSON.parse(again?.body ?? "{}")).toEqual(JSON.parse(last.body));
    expect(new Webhook(secret).verify(again?.body ?? "", again?.headers as Record<string, string>)).toMatchObject({ data: { runId } });
  });

  it("the reconciler re-queues a delivery whose job was lost, and it is delivered once", async () => {
    const path = `/lost-${randomUUID()}`;
    const { endpoint } = await endpointFor(path, ["cleanup.completed"]);
    // The row as fanOutWebhook writes it, but its job never reached Redis (Redis was down).
    const lost = await worker.ctx.db.webhookDelivery.create({
      data: {
        endpointId: endpoint.id,
        event: "cleanup.completed",
        payload: { type: "cleanup.completed", timestamp: new Date().toISOString(), data: {} },
        createdAt: new Date(Date.now() - (worker.ctx.env.RECONCILE_AFTER_SECONDS + 60) * 1000),
      },
    });
    // Called directly, not through the whole reconciler: that would also re-queue other test files' assets.
    const cutoff = () => new Date(Date.now() - worker.ctx.env.RECONCILE_AFTER_SECONDS * 1000);
    expect(await requeueOverdueDeliveries(worker.ctx, cutoff())).toBeGreaterThanOrEqual(1);
    await waitForDelivery(lost.id, "SUCCEEDED");
    // A second pass finds nothing overdue; the receiver got the delivery once.
    await requeueOverdueDeliveries(worker.ctx, cutoff());
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.to(path).map((r) => r.headers["webhook-id"])).toEqual([lost.id]);
  });

  it("a fan-out repeated for the same occurrence (a retried notifications job) delivers once per endpoint", async () => {
    const paths = [`/once-a-${randomUUID()}`, `/once-b-${randomUUID()}`];
    const endpoints = await Promise.all(paths.map((path) => endpointFor(path, ["asset.clean"])));
    const occurrence = `asset.clean-${randomUUID()}`;
    const data = { assetId: randomUUID() };
    const first = await fanOutWebhook(worker.ctx, "asset.clean", data, occurrence);
    const again = await fanOutWebhook(worker.ctx, "asset.clean", data, occurrence);
    expect(again).toEqual(first);
    for (const { endpoint } of endpoints) expect(await worker.ctx.db.webhookDelivery.count({ where: { endpointId: endpoint.id } })).toBe(1);
    for (const path of paths) await expect.poll(() => receiver.to(path).length, { timeout: 10_000 }).toBe(1);
    // Once delivered, a third fan-out of the occurrence queues nothing new.
    await fanOutWebhook(worker.ctx, "asset.clean", data, occurrence);
    await new Promise((r) => setTimeout(r, 300));
    expect(paths.map((path) => receiver.to(path).length)).toEqual([1, 1]);
    // Another occurrence of the same event is a new delivery.
    await fanOutWebhook(worker.ctx, "asset.clean", data, `asset.clean-${randomUUID()}`);
    for (const path of paths) await expect.poll(() => receiver.to(path).length, { timeout: 10_000 }).toBe(2);
  });

  it("after a secret rotation, deliveries verify with the new secret and, during the overlap, the old one", async () => {
    const path = `/rotate-${randomUUID()}`;
    const { endpoint, secret: old } = await endpointFor(path, ["alert.fired"]);
    const { secret } = await rotateEndpointSecret(worker.ctx, endpoint.id, 1);
    expect(secret).not.toBe(old);
    const [id] = await fanOutWebhook(worker.ctx, "alert.fired", { alertId: randomUUID() }).then((ids) => ids.slice(-1));
    await expect.poll(() => receiver.to(path).length, { timeout: 10_000 }).toBe(1);
    const req = receiver.to(path)[0];
    if (!req || !id) throw new Error("no request");
    expect(String(req.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    for (const s of [secret, old])
      expect(new Webhook(s).verify(req.body, req.headers as Record<string, string>)).toMatchObject({ type: "alert.fired" });
  });

  it("an endpoint failing WEBHOOK_DISABLE_AFTER_FAILURES times in a row is disabled and administrators are notified", async () => {
    const admin = await worker.ctx.db.user.create({ data: { email: `admin-${randomUUID()}@test.local`, role: "ADMIN" } });
    const path = `/dead-${randomUUID()}`;
    const { endpoint } = await endpointFor(path, ["asset.failed"]);
    const ids = await fanOutWebhook(worker.ctx, "asset.failed", { assetId: randomUUID() });
    const delivery = await worker.ctx.db.webhookDelivery.findFirstOrThrow({ where: { id: { in: ids }, endpointId: endpoint.id } });
    const failed = await waitForDelivery(delivery.id, "FAILED");
    expect(failed).toMatchObject({ attempt: 5, responseCode: 503, nextAttemptAt: null });
    const after = await worker.ctx.db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    // Announced (queued) in the same attempt: no mark is left for the reconciler.
    expect(after).toMatchObject({ active: false, failureCount: 5, announcePending: false });
    expect(after.disabledAt).not.toBeNull();
    expect(receiver.to(path)).toHaveLength(5);
    await expect
      .poll(() => worker.ctx.db.notification.findMany({ where: { userId: admin.id, type: "webhook.disabled" } }), { timeout: 10_000 })
      .toHaveLength(1);
    // A disabled endpoint gets nothing new, and replaying to it is refused until it is re-activated.
    await fanOutWebhook(worker.ctx, "asset.failed", { assetId: randomUUID() });
    expect(await worker.ctx.db.webhookDelivery.count({ where: { endpointId: endpoint.id } })).toBe(1);
    await expect(replayDelivery(worker.ctx, delivery.id)).rejects.toMatchObject({ code: "INVALID_STATE" });
  });

  it("refuses private, loopback and link-local targets unless allowed by configuration", async () => {
    for (const url of [
      receiver.url,
      "http://localhost:80/",
      "http://10.1.2.3/",
      "http://192.168.0.10/",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]/",
      "http://[::ffff:127.0.0.1]/",
      "http://0.0.0.0/",
      "http://100.64.0.1/",
    ]) {
      await expect(assertWebhookTarget(url, false), url).rejects.toThrow(/private|reserved|refused/);
    }
    await expect(assertWebhookTarget("ftp://example.com/", false)).rejects.toThrow(/http/);
    await expect(assertWebhookTarget("http://user:pw@93.184.216.34/", false)).rejects.toThrow(/credentials/);
    expect(isAllowedAddress("93.184.216.34", false)).toBe(true);
    expect(isAllowedAddress("2606:2800:220:1:248:1893:25c8:1946", false)).toBe(true);
    await expect(createEndpoint({ ...deps(), allowPrivate: false }, { url: `${receiver.url}/x`, events: [] })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });

    // At delivery time too (an endpoint saved while allowed, or a DNS name that now resolves privately).
    const before = receiver.requests.length;
    for (const url of [`${receiver.url}/guarded`, `http://localhost:${receiver.port}/guarded`]) {
      const result = await postWebhook({
        url,
        id: "msg_1",
        body: "{}",
        secrets: [`whsec_${Buffer.alloc(32).toString("base64")}`],
        timeoutMs: 1000,
        maxResponseBytes: 1024,
        allowPrivate: false,
      });
      expect(result).toMatchObject({ ok: false, status: null });
      expect(result.error).toMatch(/refused/);
    }
    expect(receiver.requests.length).toBe(before);
  });

  it("gives up on a slow receiver at the timeout and reads at most WEBHOOK_MAX_RESPONSE_BYTES of a response", async () => {
    const common = { id: "msg_2", body: "{}", secrets: [`whsec_${Buffer.alloc(32).toString("base64")}`], allowPrivate: true };
    const slow = await postWebhook({ ...common, url: `${receiver.url}/slow`, timeoutMs: 300, maxResponseBytes: 1024 });
    expect(slow).toMatchObject({ ok: false, status: null });
    expect(slow.error).toMatch(/timed out/);
    expect(slow.latencyMs).toBeLessThan(1_500);
    const huge = await postWebhook({ ...common, url: `${receiver.url}/huge`, timeoutMs: 5_000, maxResponseBytes: 4096 });
    expect(huge).toMatchObject({ ok: true, status: 200 });
    expect(huge.excerpt?.length).toBe(1024);
  });
});
