import { TRPCClientError } from "@trpc/client";
import { describe, expect, it } from "vitest";
import { describeError, isRetryable, isUnauthorized, MESSAGES } from "./errors.ts";

function apiError(httpStatus: number, appCode: string | undefined, message = "refused") {
  return new TRPCClientError(message, {
    result: { error: { code: -32000, message, data: { code: "X", httpStatus, path: "p", appCode } } },
  });
}

describe("describeError", () => {
  it("names an invalid or revoked key", () => {
    expect(describeError(apiError(401, "UNAUTHORIZED"))).toBe(MESSAGES.invalidKey);
    expect(isUnauthorized(apiError(401, undefined))).toBe(true);
  });

  it("treats a failed request, or an answer that is not tRPC, as the server being unreachable", () => {
    const network = new TRPCClientError("Failed to fetch", { cause: new TypeError("Failed to fetch") });
    expect(describeError(network)).toBe(MESSAGES.unreachable);
    expect(isRetryable(network)).toBe(true);
  });

  it("shows the server's own words for other client errors, as a sentence", () => {
    expect(describeError(apiError(409, "INVALID_STATE", "a user with this email already exists"))).toBe(
      "A user with this email already exists.",
    );
    expect(isRetryable(apiError(409, "INVALID_STATE"))).toBe(false);
  });

  it("never shows internal details of 5xx answers", () => {
    expect(describeError(apiError(500, "INTERNAL", "internal error"))).toBe(MESSAGES.internal);
    expect(describeError(apiError(503, "SERVICE_UNAVAILABLE"))).toBe(MESSAGES.unavailable);
  });
});
