import { AppError } from "@airlock/shared/errors";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { ZodError, z } from "zod";
import { toTRPCError } from "../trpc.ts";
import { validationMessage } from "../validation-message.ts";

/** The JSON error body of every REST route: `{ "error": { code, message, ... } }`, as app.ts answers too. */
export interface RestErrorBody {
  error: {
    /** An `AppErrorCode` (BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, …) or INTERNAL. */
    code: string;
    message: string;
    details?: Record<string, unknown>;
    /** Per-field messages of a request that failed validation. */
    fieldErrors?: Record<string, string[]>;
    requestId?: string;
  };
}

/**
 * Maps whatever a procedure threw to a status and body, the same way the tRPC endpoint reports it: an
 * AppError keeps its code and HTTP status, a validation error is 400 naming each field, anything
 * unexpected is an opaque 500 (the caller logs it with the request id).
 */
export function restError(thrown: unknown, requestId: string): { status: number; body: RestErrorBody; internal: boolean } {
  const error = toTRPCError(thrown);
  const cause = error.cause;
  if (cause instanceof AppError) {
    return {
      status: cause.httpStatus,
      body: { error: { code: cause.code, message: cause.userMessage, ...(cause.details ? { details: cause.details } : {}), requestId } },
      internal: false,
    };
  }
  if (cause instanceof ZodError) {
    const { fieldErrors, formErrors } = z.flattenError(cause);
    const message = validationMessage(cause);
    return {
      status: 400,
      body: {
        error: {
          code: "BAD_REQUEST",
          message,
          fieldErrors: { ...fieldErrors, ...(formErrors.length ? { _: formErrors } : {}) },
          requestId,
        },
      },
      internal: false,
    };
  }
  const status = getHTTPStatusCodeFromError(error);
  if (status >= 500 && error.code === "INTERNAL_SERVER_ERROR") {
    return { status: 500, body: { error: { code: "INTERNAL", message: "internal error", requestId } }, internal: true };
  }
  return { status, body: { error: { code: error.code, message: error.message, requestId } }, internal: false };
}

/** A request the façade itself refuses before calling a procedure (unknown parameter, bad JSON, …). */
export function badRequest(message: string): AppError {
  return new AppError("BAD_REQUEST", message);
}
