import { parseEnv } from "@airlock/shared/env";
import { describe, expect, it } from "vitest";
import { retryDelayMs } from "./webhook.ts";

describe("[WEBHOOKS][RETRY]", () => {
  it("doubles the delay after each failed attempt", () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(1_000, n))).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it("with the default configuration, a delivery's retries span about a day", () => {
    const env = parseEnv({ NODE_ENV: "test" });
    let totalMs = 0;
    // Attempt n failed → wait retryDelayMs(n) before attempt n + 1; the last attempt has no successor.
    for (let attempt = 1; attempt < env.WEBHOOK_MAX_ATTEMPTS; attempt++) totalMs += retryDelayMs(env.WEBHOOK_RETRY_BASE_MS, attempt);
    const hours = totalMs / 3_600_000;
    expect(hours).toBeGreaterThan(20);
    expect(hours).toBeLessThan(30);
  });
});
