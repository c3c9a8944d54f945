import type { Alert, PrismaClient } from "@airlock/db";
import type { Logger } from "pino";
import { type AlertRule, alertRules, type RuleSources } from "./rules.ts";

export type AlertTransition = { kind: "fired" | "resolved"; alert: Alert; rule: AlertRule };

/**
 * Runs every rule and moves alerts through their lifecycle: a rule whose condition starts to hold
 * fires one alert (de-duplicated: while it fires, later evaluations only update its value); when the
 * condition clears the alert is resolved. Returns the transitions so channels can announce them.
 * Safe to run concurrently: the FIRING row is the lock (a unique partial index would be stronger).
 */
export async function evaluateAlerts(
  sources: RuleSources & { log?: Pick<Logger, "warn" | "info"> },
  rules: AlertRule[] = alertRules,
): Promise<AlertTransition[]> {
  const db: PrismaClient = sources.db;
  const transitions: AlertTransition[] = [];
  for (const rule of rules) {
    let result: Awaited<ReturnType<AlertRule["evaluate"]>>;
    try {
      result = await rule.evaluate(sources);
    } catch (error) {
      sources.log?.warn({ rule: rule.name, err: (error as Error).message }, "alert rule could not be evaluated");
      continue;
    }
    const open = await db.alert.findFirst({ where: { rule: rule.name, state: "FIRING" }, orderBy: { firedAt: "desc" } });
    const details = JSON.parse(JSON.stringify(result.details));
    if (result.firing && !open) {
      const alert = await db.alert.create({
        data: {
          rule: rule.name,
          severity: rule.severity,
          state: "FIRING",
          value: result.value,
          threshold: result.threshold,
          details,
          firedAt: sources.now,
          announcePending: true,
        },
      });
      transitions.push({ kind: "fired", alert, rule });
    } else if (result.firing && open) {
      await db.alert.update({ where: { id: open.id }, data: { value: result.value, details } });
    } else if (!result.firing && open) {
      const resolved = await db.alert.updateMany({
        where: { id: open.id, state: "FIRING" },
        data: { state: "RESOLVED", resolvedAt: sources.now, value: result.value, announcePending: true },
      });
      if (resolved.count === 1)
        transitions.push({ kind: "resolved", alert: await db.alert.findUniqueOrThrow({ where: { id: open.id } }), rule });
    }
  }
  return transitions;
}
