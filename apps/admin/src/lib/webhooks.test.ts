import { describe, expect, it } from "vitest";
import { deliveryState, disabledReason, eventsLabel, knownEvents, responseText } from "./webhooks.ts";

describe("webhook helpers", () => {
  it("an empty event filter reads as all events", () => {
    expect(eventsLabel([])).toBe("All events");
    expect(eventsLabel(["asset.clean", "asset.failed"])).toBe("asset.clean, asset.failed");
  });

  it("says why an endpoint is disabled", () => {
    expect(disabledReason({ active: true, failureCount: 3 })).toBeNull();
    expect(disabledReason({ active: false, failureCount: 20 })).toBe("Disabled after 20 failed attempts in a row");
    expect(disabledReason({ active: false, failureCount: 1 })).toBe("Disabled after 1 failed attempt in a row");
    expect(disabledReason({ active: false, failureCount: 0 })).toBe("Disabled by an administrator");
  });

  it("names the delivery state", () => {
    expect(deliveryState({ status: "SUCCEEDED", attempt: 1, nextAttemptAt: null })).toEqual({ label: "Delivered", tone: "ok" });
    expect(deliveryState({ status: "FAILED", attempt: 8, nextAttemptAt: null }).label).toBe("Failed");
    expect(deliveryState({ status: "PENDING", attempt: 0, nextAttemptAt: null }).label).toBe("Queued");
    expect(deliveryState({ status: "PENDING", attempt: 2, nextAttemptAt: new Date().toISOString() }).label).toBe("Retrying");
  });

  it("shows the error before the response, on one line, shortened", () => {
    expect(responseText({ error: "connect ECONNREFUSED", responseExcerpt: "x" })).toBe("connect ECONNREFUSED");
    expect(responseText({ error: null, responseExcerpt: "ok\n  thanks" })).toBe("ok thanks");
    expect(responseText({ error: null, responseExcerpt: null })).toBe("—");
    expect(responseText({ error: null, responseExcerpt: "a".repeat(200) }, 10)).toBe(`${"a".repeat(9)}…`);
  });

  it("keeps only the event names the API offers", () => {
    expect(knownEvents(["asset.clean", "gone.event"], ["asset.clean", "asset.failed"])).toEqual(["asset.clean"]);
  });
});
