import type { RouterOutputs } from "@airlock/api/router";

/** Pure helpers of the notification bell (notifications.test.ts). */
export type NotificationItem = RouterOutputs["notifications"]["list"]["items"][number];

export interface NotificationText {
  title: string;
  detail: string;
  tone: "ok" | "danger" | "info";
}

function field(payload: unknown, name: string): unknown {
  return payload && typeof payload === "object" ? (payload as Record<string, unknown>)[name] : undefined;
}

function text(payload: unknown, name: string): string {
  const value = field(payload, name);
  return typeof value === "string" ? value : "";
}

/**
 * One notification in words. `type` is the event the worker announced (apps/worker/src/processors/
 * notify.ts, alerts.ts); `payload` is what it knew then (file name, threats, alert summary…).
 */
export function describeNotification(type: string, payload: unknown): NotificationText {
  const file = text(payload, "filename") || "a file";
  switch (type) {
    case "asset.clean":
      return { title: "Upload complete", detail: `${file} was scanned and is clean.`, tone: "ok" };
    case "asset.failed": {
      const code = text(payload, "failureCode");
      return {
        title: "Upload failed",
        detail: `${file} could not be processed${code ? ` (${code.replace(/_/g, " ")})` : ""}.`,
        tone: "danger",
      };
    }
    case "asset.quarantined": {
      const threats = field(payload, "threats");
      const names = Array.isArray(threats) ? threats.filter((t): t is string => typeof t === "string") : [];
      return {
        title: "Virus detected",
        detail: `${file} was quarantined${names.length ? `: ${names.join(", ")}` : ""}.`,
        tone: "danger",
      };
    }
    case "alert.fired":
      return { title: "Alert firing", detail: text(payload, "summary") || text(payload, "rule"), tone: "danger" };
    case "alert.resolved":
      return { title: "Alert resolved", detail: text(payload, "summary") || text(payload, "rule"), tone: "ok" };
    case "webhook.disabled": {
      const failures = field(payload, "failures");
      return {
        title: "Webhook disabled",
        detail: `${text(payload, "url") || "An endpoint"} was disabled${typeof failures === "number" ? ` after ${failures} failed attempts` : ""}.`,
        tone: "danger",
      };
    }
    default:
      return { title: type, detail: "", tone: "info" };
  }
}

/** "9+" past nine, so the badge stays one glyph wide-ish; nothing at zero. */
export function badgeText(unread: number): string | null {
  if (unread <= 0) return null;
  return unread > 9 ? "9+" : String(unread);
}
