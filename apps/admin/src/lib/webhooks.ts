import type { RouterOutputs } from "@airlock/api/router";

/** Pure helpers of the Webhooks page (webhooks.test.ts). */
export type WebhookEndpoint = RouterOutputs["webhooks"]["list"][number];
/** The events an endpoint can subscribe to (`webhooks.events`). */
export type WebhookEventName = RouterOutputs["webhooks"]["events"][number];
export type WebhookDelivery = RouterOutputs["webhooks"]["deliveries"]["items"][number];

/** An empty filter means every event (fanOutWebhook). */
export function eventsLabel(events: readonly string[]): string {
  return events.length === 0 ? "All events" : events.join(", ");
}

/**
 * Why an endpoint receives nothing, in words; null while it is active. The API keeps no reason column:
 * the delivery processor disables an endpoint with its failure streak intact, while an administrator's
 * "Disable" keeps whatever streak there was, so a streak reads as the likely cause.
 */
export function disabledReason(endpoint: Pick<WebhookEndpoint, "active" | "failureCount">): string | null {
  if (endpoint.active) return null;
  if (endpoint.failureCount > 0)
    return `Disabled after ${endpoint.failureCount} failed attempt${endpoint.failureCount === 1 ? "" : "s"} in a row`;
  return "Disabled by an administrator";
}

export type DeliveryTone = "ok" | "danger" | "info";

/** The delivery's outcome for a badge: sent, given up, or still trying (with the attempt it is at). */
export function deliveryState(d: Pick<WebhookDelivery, "status" | "attempt" | "nextAttemptAt">): { label: string; tone: DeliveryTone } {
  if (d.status === "SUCCEEDED") return { label: "Delivered", tone: "ok" };
  if (d.status === "FAILED") return { label: "Failed", tone: "danger" };
  if (d.attempt === 0) return { label: "Queued", tone: "info" };
  return { label: d.nextAttemptAt ? "Retrying" : "Sending", tone: "info" };
}

/** What the receiver said (or the network error), one line, for the log table. */
export function responseText(d: Pick<WebhookDelivery, "responseExcerpt" | "error">, max = 120): string {
  const text = (d.error ?? d.responseExcerpt ?? "").replace(/\s+/g, " ").trim();
  if (!text) return "—";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The stored filter (plain strings) as the form's event names; names the API no longer offers are dropped. */
export function knownEvents(stored: readonly string[], offered: readonly WebhookEventName[]): WebhookEventName[] {
  return offered.filter((name) => stored.includes(name));
}
