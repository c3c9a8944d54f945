import type { AppRouter } from "@airlock/api/router";
import { TRPCClientError } from "@trpc/client";

/**
 * Turns whatever a tRPC call threw into words for people. The API's errorFormatter sends
 * `data.httpStatus` and `data.appCode` (packages/shared/src/errors.ts); anything without that shape
 * never came from the Airlock API (network failure, proxy error page, wrong server).
 */
export type ApiError = TRPCClientError<AppRouter>;

export const MESSAGES = {
  invalidKey: "This key is invalid or has been revoked.",
  forbidden: "This needs an administrator's key.",
  unreachable: "Cannot reach the Airlock server. Check that it is running and try again.",
  unavailable: "The server is up, but its database or Redis is unavailable. Try again in a moment.",
  rateLimited: "Too many requests. Wait a moment and try again.",
  internal: "The server hit an internal error. Try again; if it persists, check the API logs.",
} as const;

function asApiError(error: unknown): ApiError | null {
  return error instanceof TRPCClientError ? (error as ApiError) : null;
}

/** The HTTP status the API answered with, or undefined when no Airlock answer arrived at all. */
export function httpStatusOf(error: unknown): number | undefined {
  return asApiError(error)?.data?.httpStatus;
}

/** The key was rejected: unknown, malformed or revoked. */
export function isUnauthorized(error: unknown): boolean {
  const data = asApiError(error)?.data;
  return data?.appCode === "UNAUTHORIZED" || data?.httpStatus === 401;
}

/** No answer from the Airlock API: the request failed, or whatever answered did not speak tRPC. */
export function isUnreachable(error: unknown): boolean {
  return httpStatusOf(error) === undefined;
}

/** Worth retrying automatically: nothing answered, or the server failed (5xx); never 4xx. */
export function isRetryable(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === undefined || status >= 500;
}

/** One sentence to show the user. Server messages of 4xx errors are written for users (AppError.userMessage). */
export function describeError(error: unknown): string {
  const apiError = asApiError(error);
  if (!apiError) return error instanceof Error && error.message ? error.message : "Something went wrong.";
  const status = apiError.data?.httpStatus;
  if (status === undefined) return MESSAGES.unreachable;
  if (isUnauthorized(apiError)) return MESSAGES.invalidKey;
  if (status === 403) return MESSAGES.forbidden;
  if (status === 429) return MESSAGES.rateLimited;
  if (status === 502 || status === 503 || status === 504) return MESSAGES.unavailable;
  if (status >= 500) return MESSAGES.internal;
  return sentence(apiError.message);
}

function sentence(message: string): string {
  const trimmed = message.trim();
  if (!trimmed) return "The request was refused.";
  const capitalised = trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}
