import { type AlertThresholds, evaluateAlerts } from "@airlock/shared/alerts";
import type { Env } from "@airlock/shared/env";
import { publishEvent } from "@airlock/shared/events";
import type { Queues } from "@airlock/shared/queue-client";
import type { WorkerContext } from "../context.ts";
import type { Registration } from "../registry.ts";
import { announce } from "../services/announce.ts";

export function alertThresholds(env: Env): AlertThresholds {
  return {
    successRateMin: env.ALERT_SUCCESS_RATE_MIN,
    successRateMinSample: env.ALERT_SUCCESS_RATE_MIN_SAMPLE,
    scanTimeMaxMs: env.ALERT_SCAN_TIME_MAX_MS,
    scanQueueMax: env.ALERT_SCAN_QUEUE_MAX,
    windowMinutes: env.ALERT_WINDOW_MINUTES,
  };
}

/**
 * `alerts-evaluate`: every minute, and right after an event that warrants it (a quarantine, a cleanup
 * run with failures). Fired and resolved alerts go to the log and the live event channel here, and through
 * the notifications job to every administrator's in-app notifications, mail and the webhooks.
 */
export const alertsRegistration: Registration<"alerts-evaluate"> = {
  concurrency: () => 1,
  async process(_job, ctx) {
    const transitions = await evaluateAlerts({
      db: ctx.db,
      queues: ctx.queues,
      now: new Date(),
      thresholds: alertThresholds(ctx.env),
      log: ctx.log,
    });
    if (transitions.length === 0) return "skipped";
    for (const { kind, alert, rule } of transitions) {
      const payload = {
        alertId: alert.id,
        rule: alert.rule,
        severity: alert.severity,
        value: alert.value,
        threshold: alert.threshold,
        summary: rule.summary,
      };
      const line = `${kind === "fired" ? "ALERT" : "resolved"}: ${rule.summary} (value ${alert.value}, threshold ${alert.threshold})`;
      if (kind === "fired" && alert.severity === "CRITICAL") ctx.log.error(payload, line);
      else ctx.log.warn(payload, line);
      await publishEvent(ctx.redis, ctx.env.REDIS_PREFIX, { type: `alert.${kind}`, ...payload, at: new Date().toISOString() });
      // The admins' in-app rows, mail and webhooks come from the notifications job, keyed by this
      // transition: a retry of this job after a crash announces it again and notifies nobody twice.
      await announce(ctx, `alert.${kind}`, `${alert.id}-${kind}`, { payload });
    }
    return "success";
  },
};

/** Asks for an evaluation now; a burst of requests collapses into one waiting job. */
export async function requestAlertEvaluation(ctx: Pick<WorkerContext, "queues" | "log">, reason: string): Promise<void> {
  await requestEvaluation(ctx.queues, reason).catch((error: unknown) =>
    ctx.log.warn({ err: (error as Error).message }, "could not request an alert evaluation"),
  );
}

async function requestEvaluation(queues: Queues, reason: string) {
  await queues["alerts-evaluate"].add("evaluate", { reason }, { jobId: `now-${reason}`, removeOnComplete: true, removeOnFail: true });
}
