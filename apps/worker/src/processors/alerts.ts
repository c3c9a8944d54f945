import type { Alert } from "@airlock/db";
import { type AlertThresholds, alertRules, evaluateAlerts } from "@airlock/shared/alerts";
import type { Env } from "@airlock/shared/env";
import { publishEvent } from "@airlock/shared/events";
import type { Queues } from "@airlock/shared/queue-client";
import type { WorkerContext } from "../context.ts";
import type { Registration } from "../registry.ts";
import { announce } from "../services/announce.ts";
import { notifyInApp } from "../services/in-app.ts";

export function alertThresholds(env: Env): AlertThresholds {
  return {
    successRateMin: env.ALERT_SUCCESS_RATE_MIN,
    successRateMinSample: env.ALERT_SUCCESS_RATE_MIN_SAMPLE,
    scanTimeMaxMs: env.ALERT_SCAN_TIME_MAX_MS,
    scanQueueMax: env.ALERT_SCAN_QUEUE_MAX,
    windowMinutes: env.ALERT_WINDOW_MINUTES,
  };
}

/** A transition not announced this long after it happened was left by a worker that stopped in between. */
const UNANNOUNCED_AFTER_MS = 30_000;

/**
 * `alerts-evaluate`: every minute, and right after an event that warrants it (a quarantine, a cleanup
 * run with failures). Fired and resolved alerts go to the log, to every administrator's in-app
 * notifications, to the live event channel and, through the notifications job, to mail and webhooks.
 * Each transition is saved with `announcePending`, cleared once announced; a later run announces the
 * transitions a stopped worker left pending (every step is keyed by the transition: nobody hears twice).
 */
export const alertsRegistration: Registration<"alerts-evaluate"> = {
  concurrency: () => 1,
  async process(_job, ctx) {
    const now = new Date();
    const transitions = await evaluateAlerts({
      db: ctx.db,
      queues: ctx.queues,
      now,
      thresholds: alertThresholds(ctx.env),
      log: ctx.log,
    });
    const fresh = new Set(transitions.map((t) => t.alert.id));
    const leftOver = await ctx.db.alert.findMany({ where: { announcePending: true }, orderBy: { firedAt: "asc" }, take: 100 });
    const stale = leftOver.filter(
      (alert) => !fresh.has(alert.id) && now.getTime() - (alert.resolvedAt ?? alert.firedAt).getTime() > UNANNOUNCED_AFTER_MS,
    );
    if (transitions.length === 0 && stale.length === 0) return "skipped";
    const admins = await ctx.db.user.findMany({ where: { role: "ADMIN" }, select: { id: true } });
    for (const { kind, alert, rule } of transitions) {
      const line = `${kind === "fired" ? "ALERT" : "resolved"}: ${rule.summary} (value ${alert.value}, threshold ${alert.threshold})`;
      if (kind === "fired" && alert.severity === "CRITICAL") ctx.log.error({ alertId: alert.id, rule: alert.rule }, line);
      else ctx.log.warn({ alertId: alert.id, rule: alert.rule }, line);
      await announceTransition(ctx, kind, alert, rule.summary, admins);
    }
    for (const alert of stale) {
      const kind = alert.state === "FIRING" ? "fired" : "resolved";
      ctx.log.warn({ alertId: alert.id, rule: alert.rule, kind }, "announcing an alert transition a stopped worker left unannounced");
      await announceTransition(ctx, kind, alert, alertRules.find((r) => r.name === alert.rule)?.summary ?? alert.rule, admins);
    }
    return "success";
  },
};

/** In-app rows, live events and the notifications job for one transition; then it is no longer pending. */
async function announceTransition(
  ctx: WorkerContext,
  kind: "fired" | "resolved",
  alert: Alert,
  summary: string,
  admins: Array<{ id: string }>,
): Promise<void> {
  const payload = {
    alertId: alert.id,
    rule: alert.rule,
    severity: alert.severity,
    value: alert.value,
    threshold: alert.threshold,
    summary,
  };
  // Written here, in PostgreSQL, not through the notifications job: a lost announcement (Redis down) must
  // not take the administrators' in-app alert with it. Keyed by the transition like that job's rows.
  await notifyInApp(
    ctx,
    admins.map((a) => a.id),
    { type: `alert.${kind}`, occurrence: `${alert.id}-${kind}`, payload },
  );
  const at = new Date().toISOString();
  await publishEvent(ctx.redis, ctx.env.REDIS_PREFIX, { type: `alert.${kind}`, ...payload, at });
  if (!(await announce(ctx, `alert.${kind}`, `${alert.id}-${kind}`, { payload }))) return; // stays pending
  // Only the transition announced: a resolve saved meanwhile keeps its own mark.
  await ctx.db.alert.updateMany({
    where: { id: alert.id, state: kind === "fired" ? "FIRING" : "RESOLVED", announcePending: true },
    data: { announcePending: false },
  });
}

/** Asks for an evaluation now; a burst of requests collapses into one waiting job. */
export async function requestAlertEvaluation(ctx: Pick<WorkerContext, "queues" | "log">, reason: string): Promise<void> {
  await requestEvaluation(ctx.queues, reason).catch((error: unknown) =>
    ctx.log.warn({ err: (error as Error).message }, "could not request an alert evaluation"),
  );
}

async function requestEvaluation(queues: Queues, reason: string) {
  await queues["alerts-evaluate"].add("evaluate", { reason }, { jobId: `now-${reason}`, removeOnComplete: true, removeOnFail: true });
}
