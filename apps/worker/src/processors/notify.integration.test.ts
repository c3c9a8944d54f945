import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { type AirlockEvent, eventsChannel } from "@airlock/shared/events";
import { deleteKeysWithPrefix } from "@airlock/shared/redis";
import { queueScan } from "@airlock/shared/scan-queue";
import { createEndpoint } from "@airlock/shared/webhooks";
import type { Redis } from "ioredis";
import { SMTPServer } from "smtp-server";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { announce } from "../services/announce.ts";
import { startReceiver } from "../test-receiver.ts";
import { seedUploadedAsset, startTestWorker, waitForStatus } from "../test-worker.ts";
import { notifyRegistration } from "./notify.ts";

const EICAR = Buffer.from("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*");

interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server (the `smtp-server` package) on 127.0.0.1 that keeps every message it accepts. */
async function startSmtp() {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    to: (address: string) => mails.filter((m) => m.to.includes(address)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The decoded subject of a raw message (nodemailer encodes non-ASCII subjects as RFC 2047 words). */
function subjectOf(raw: string): string {
  const line = /^Subject: (.*(?:\r\n[ \t].*)*)/m.exec(raw)?.[1] ?? "";
  return line
    .replace(/\r\n[ \t]/g, " ")
    .replace(/=\?UTF-8\?([BQ])\?([^?]*)\?=\s?/gi, (_m, enc: string, text: string) =>
      enc.toUpperCase() === "B"
        ? Buffer.from(text, "base64").toString("utf8")
        : text.replace(/_/g, " ").replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    )
    .trim();
}

describe("[WORKER][NOTIFICATIONS]", () => {
  const prefix = `${process.env.REDIS_PREFIX}-notify`;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let admin: { id: string; email: string };
  let hook: { path: string; secret: string };
  /** Everything published on the live-events channel while the tests run. */
  const published: AirlockEvent[] = [];
  let listener: Redis;

  beforeAll(async () => {
    smtp = await startSmtp();
    receiver = await startReceiver(() => 200);
    worker = await startTestWorker({
      REDIS_PREFIX: prefix,
      SCANNER_PROVIDER: "mock",
      SMTP_URL: smtp.url,
      MAIL_FROM: "Airlock <noreply@airlock.test>",
      WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
    });
    listener = worker.ctx.redis.duplicate();
    listener.on("message", (_channel: string, message: string) => published.push(JSON.parse(message) as AirlockEvent));
    await listener.subscribe(eventsChannel(prefix));
    admin = await worker.ctx.db.user.create({ data: { email: `admin-${randomUUID()}@test.local`, role: "ADMIN" } });
    const path = `/all-${randomUUID()}`;
    const { secret } = await createEndpoint(
      { db: worker.ctx.db, queues: worker.ctx.queues, allowPrivate: true },
      { url: `${receiver.url}${path}`, events: ["asset.clean", "asset.quarantined", "asset.failed", "cleanup.completed", "alert.fired"] },
    );
    hook = { path, secret };
  });
  afterAll(async () => {
    listener?.disconnect();
    await worker.ctx.db.webhookEndpoint.deleteMany({ where: { url: { startsWith: receiver.url } } });
    await worker.close();
    await receiver.close();
    await smtp.close();
    await deleteKeysWithPrefix(worker.ctx.redis.duplicate(), prefix).catch(() => 0);
  });

  /** The verified webhook bodies the receiver got for one event and subject id. */
  function webhooksFor(type: string, match: (data: Record<string, unknown>) => boolean) {
    return receiver
      .to(hook.path)
      .map(
        (r) =>
          new Webhook(hook.secret).verify(r.body, r.headers as Record<string, string>) as { type: string; data: Record<string, unknown> },
      )
      .filter((b) => b.type === type && match(b.data));
  }

  it("a clean upload: owner gets the mail and an in-app notification, subscribed endpoints a signed webhook", async () => {
    const asset = await seedUploadedAsset(worker.ctx, Buffer.from("hello, clean world"), {
      filename: "report <1>.txt",
      mime: "text/plain",
    });
    await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
    await waitForStatus(worker.ctx, asset.id, ["CLEAN"]);
    const owner = await worker.ctx.db.user.findUniqueOrThrow({ where: { id: asset.ownerId } });

    await expect.poll(() => smtp.to(owner.email).length, { timeout: 15_000 }).toBe(1);
    const mail = smtp.to(owner.email)[0];
    expect(mail?.from).toBe("noreply@airlock.test");
    expect(subjectOf(mail?.raw ?? "")).toBe("Upload complete: report <1>.txt");
    expect(mail?.raw).toMatch(/Content-Type: text\/plain/);
    expect(mail?.raw).toMatch(/Content-Type: text\/html/);
    expect(mail?.raw).toContain("&#60;1&#62;"); // escaped in the HTML part
    expect(smtp.to(admin.email).filter((m) => subjectOf(m.raw).includes("report"))).toHaveLength(0);

    const inApp = await worker.ctx.db.notification.findMany({ where: { userId: owner.id } });
    expect(inApp).toEqual([
      expect.objectContaining({
        type: "asset.clean",
        readAt: null,
        payload: expect.objectContaining({ assetId: asset.id, filename: "report <1>.txt" }),
      }),
    ]);
    await expect.poll(() => webhooksFor("asset.clean", (d) => d.assetId === asset.id).length, { timeout: 10_000 }).toBe(1);
    expect(webhooksFor("asset.clean", (d) => d.assetId === asset.id)[0]?.data).toMatchObject({
      status: "CLEAN",
      ownerId: owner.id,
      filename: "report <1>.txt",
    });
  });

  it("a virus: owner and administrators are mailed even when the owner opted out; in-app rows for both; a webhook", async () => {
    const asset = await seedUploadedAsset(worker.ctx, EICAR, { filename: "eicar.com" });
    await worker.ctx.db.user.update({ where: { id: asset.ownerId }, data: { emailOptOut: true } });
    await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
    await waitForStatus(worker.ctx, asset.id, ["QUARANTINED"]);
    const owner = await worker.ctx.db.user.findUniqueOrThrow({ where: { id: asset.ownerId } });

    await expect.poll(() => smtp.to(owner.email).length, { timeout: 15_000 }).toBe(1);
    expect(subjectOf(smtp.to(owner.email)[0]?.raw ?? "")).toBe("Virus detected: eicar.com");
    await expect
      .poll(() => smtp.to(admin.email).filter((m) => subjectOf(m.raw) === "Virus detected: eicar.com").length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(1);
    expect(smtp.to(owner.email)[0]?.raw).toMatch(/EICAR/i);

    for (const userId of [owner.id, admin.id]) {
      const rows = await worker.ctx.db.notification.findMany({ where: { userId, type: "asset.quarantined" } });
      expect(rows.filter((r) => (r.payload as { assetId?: string }).assetId === asset.id)).toHaveLength(1);
      // Each recipient's open tabs hear of it live (the bell).
      await expect
        .poll(() =>
          published.filter((e) => e.type === "notification.created" && e.userId === userId && e.notificationType === "asset.quarantined"),
        )
        .toHaveLength(1);
    }
    await expect.poll(() => webhooksFor("asset.quarantined", (d) => d.assetId === asset.id).length, { timeout: 10_000 }).toBe(1);
    expect(webhooksFor("asset.quarantined", (d) => d.assetId === asset.id)[0]?.data).toMatchObject({
      status: "QUARANTINED",
      reason: "infected",
    });
  });

  it("an opted-out owner gets no upload-completed mail, but still the in-app notification", async () => {
    const asset = await seedUploadedAsset(worker.ctx, Buffer.from("quiet please"), { filename: "quiet.txt", mime: "text/plain" });
    await worker.ctx.db.user.update({ where: { id: asset.ownerId }, data: { emailOptOut: true } });
    await queueScan(worker.ctx.queues, worker.ctx.env, asset.id);
    await waitForStatus(worker.ctx, asset.id, ["CLEAN"]);
    await expect
      .poll(() => worker.ctx.db.notification.count({ where: { userId: asset.ownerId, type: "asset.clean" } }), { timeout: 10_000 })
      .toBe(1);
    await expect.poll(() => webhooksFor("asset.clean", (d) => d.assetId === asset.id).length, { timeout: 10_000 }).toBe(1);
    const owner = await worker.ctx.db.user.findUniqueOrThrow({ where: { id: asset.ownerId } });
    expect(smtp.to(owner.email)).toHaveLength(0);
  });

  it("a scan that fails for good: the owner is told by mail and in-app", async () => {
    const asset = await seedUploadedAsset(worker.ctx, Buffer.from("unlucky"), { filename: "unlucky.txt", mime: "text/plain" });
    await worker.ctx.db.asset.update({ where: { id: asset.id }, data: { status: "FAILED", failureCode: "scan_unavailable" } });
    await announce(worker.ctx, "asset.failed", asset.id, { assetId: asset.id });
    const owner = await worker.ctx.db.user.findUniqueOrThrow({ where: { id: asset.ownerId } });
    await expect.poll(() => smtp.to(owner.email).length, { timeout: 10_000 }).toBe(1);
    expect(subjectOf(smtp.to(owner.email)[0]?.raw ?? "")).toBe("Upload failed: unlucky.txt");
    expect(await worker.ctx.db.notification.count({ where: { userId: owner.id, type: "asset.failed" } })).toBe(1);
    await expect.poll(() => webhooksFor("asset.failed", (d) => d.assetId === asset.id).length, { timeout: 10_000 }).toBe(1);
    expect(webhooksFor("asset.failed", (d) => d.assetId === asset.id)[0]?.data).toMatchObject({
      status: "FAILED",
      failureCode: "scan_unavailable",
    });
  });

  it("a notifications job run again from scratch (a crash before its progress was saved) writes each in-app row and webhook delivery once", async () => {
    const asset = await seedUploadedAsset(worker.ctx, Buffer.from("announced twice"), { filename: "twice.txt", mime: "text/plain" });
    await worker.ctx.db.user.update({ where: { id: asset.ownerId }, data: { emailOptOut: true } });
    const id = `asset.failed-${asset.id}`;
    // The same job twice, each time with no progress recorded: the worst case of a retry.
    for (let run = 0; run < 2; run++) {
      const job = { id, data: { event: "asset.failed", assetId: asset.id }, progress: {}, updateProgress: async () => {} };
      await notifyRegistration.process(job as unknown as Parameters<typeof notifyRegistration.process>[0], worker.ctx, "token");
    }
    expect(await worker.ctx.db.notification.count({ where: { userId: asset.ownerId, type: "asset.failed" } })).toBe(1);
    const deliveries = await worker.ctx.db.webhookDelivery.findMany({ where: { event: "asset.failed", occurrence: id } });
    expect(deliveries).toHaveLength(1);
    await expect.poll(() => webhooksFor("asset.failed", (d) => d.assetId === asset.id).length, { timeout: 10_000 }).toBe(1);
  });

  it("alerts are mailed to administrators; cleanup runs go to webhooks; an announcement is queued once", async () => {
    const alertId = randomUUID();
    const payload = { alertId, rule: "virus_detected", severity: "CRITICAL", value: 1, threshold: 0, summary: `test alert ${alertId}` };
    await announce(worker.ctx, "alert.fired", `${alertId}-fired`, { payload });
    await announce(worker.ctx, "alert.fired", `${alertId}-fired`, { payload }); // a repeat: same job id
    await expect.poll(() => smtp.to(admin.email).filter((m) => subjectOf(m.raw).includes(alertId)).length, { timeout: 10_000 }).toBe(1);
    expect(subjectOf(smtp.to(admin.email).find((m) => subjectOf(m.raw).includes(alertId))?.raw ?? "")).toBe(
      `[CRITICAL] Alert: test alert ${alertId}`,
    );
    await expect.poll(() => webhooksFor("alert.fired", (d) => d.alertId === alertId).length, { timeout: 10_000 }).toBe(1);

    const runId = randomUUID();
    await announce(worker.ctx, "cleanup.completed", runId, { payload: { runId, dryRun: false, bytesFreed: 42, errors: 0 } });
    await expect.poll(() => webhooksFor("cleanup.completed", (d) => d.runId === runId).length, { timeout: 10_000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(webhooksFor("alert.fired", (d) => d.alertId === alertId)).toHaveLength(1);
  });
});
