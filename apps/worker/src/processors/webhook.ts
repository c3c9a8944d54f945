import { enqueueDelivery, postWebhook, signingSecrets } from "@airlock/shared/webhooks";
import type { Registration } from "../registry.ts";
import { announceWebhookDisabled } from "../services/pending-announcements.ts";

/** Delay before attempt `n + 1` after attempt `n` failed: base · 2^(n-1). */
export function retryDelayMs(base: number, attempt: number): number {
  return base * 2 ** (attempt - 1);
}

/**
 * `webhook-delivery`: one signed POST per job. The delivery row holds the attempt count, the log of
 * the last attempt and the next attempt's time; a failed attempt queues the next one with exponential
 * delay until WEBHOOK_MAX_ATTEMPTS. Consecutive failures (across deliveries) disable the endpoint at
 * WEBHOOK_DISABLE_AFTER_FAILURES, and administrators are told.
 */
export const webhookRegistration: Registration<"webhook-delivery"> = {
  concurrency: () => 8,
  async process(job, ctx) {
    const { env } = ctx;
    const delivery = await ctx.db.webhookDelivery.findUnique({ where: { id: job.data.deliveryId }, include: { endpoint: true } });
    if (delivery?.status !== "PENDING") return "skipped";
    const { endpoint } = delivery;
    if (!endpoint.active) {
      await ctx.db.webhookDelivery.update({
        where: { id: delivery.id },
        data: { status: "FAILED", error: "endpoint disabled", nextAttemptAt: null },
      });
      return "skipped";
    }
    const attempt = delivery.attempt + 1;
    const result = await postWebhook({
      url: endpoint.url,
      id: delivery.id,
      body: JSON.stringify(delivery.payload),
      secrets: signingSecrets(endpoint),
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      maxResponseBytes: env.WEBHOOK_MAX_RESPONSE_BYTES,
      allowPrivate: env.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    });
    const log = { attempt, responseCode: result.status, latencyMs: result.latencyMs, responseExcerpt: result.excerpt, error: result.error };
    if (result.ok) {
      await ctx.db.webhookDelivery.update({
        where: { id: delivery.id },
        data: { ...log, status: "SUCCEEDED", deliveredAt: new Date(), nextAttemptAt: null },
      });
      await ctx.db.webhookEndpoint.update({ where: { id: endpoint.id }, data: { failureCount: 0 } });
      return "success";
    }

    const retry = attempt < env.WEBHOOK_MAX_ATTEMPTS;
    const delay = retryDelayMs(env.WEBHOOK_RETRY_BASE_MS, attempt);
    await ctx.db.webhookDelivery.update({
      where: { id: delivery.id },
      data: { ...log, status: retry ? "PENDING" : "FAILED", nextAttemptAt: retry ? new Date(Date.now() + delay) : null },
    });
    const updated = await ctx.db.webhookEndpoint.update({ where: { id: endpoint.id }, data: { failureCount: { increment: 1 } } });
    ctx.log.warn({ deliveryId: delivery.id, endpointId: endpoint.id, attempt, error: result.error }, "webhook delivery attempt failed");

    if (updated.failureCount >= env.WEBHOOK_DISABLE_AFTER_FAILURES) {
      // Guarded: only the attempt that flips `active` announces it.
      const disabledAt = new Date();
      const disabled = await ctx.db.webhookEndpoint.updateMany({
        where: { id: endpoint.id, active: true },
        data: { active: false, disabledAt, announcePending: true },
      });
      if (disabled.count) {
        ctx.log.error({ endpointId: endpoint.id, failures: updated.failureCount }, "webhook endpoint disabled after consecutive failures");
        await announceWebhookDisabled(ctx, { id: endpoint.id, url: endpoint.url, failureCount: updated.failureCount, disabledAt });
        await ctx.db.webhookDelivery.update({ where: { id: delivery.id }, data: { status: "FAILED", nextAttemptAt: null } });
        return "success";
      }
    }
    if (retry) await enqueueDelivery(ctx.queues, delivery.id, attempt + 1, delay);
    return "success";
  },
};
