import { isRecordNotFound } from "@airlock/db";
import { AppError, type AppErrorCode } from "@airlock/shared/errors";
import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError, z } from "zod";
import type { RequestContext } from "./context.ts";
import { isDependencyUnavailable } from "./dependency-errors.ts";
import { authenticateApiKey, bearerToken } from "./services/api-keys.ts";
import { validationMessage } from "./validation-message.ts";

/**
 * Maps any thrown error to the TRPCError the client sees: AppError keeps its code (also sent as
 * `data.appCode` so clients can branch on it), Prisma's "record not found" becomes NOT_FOUND, an
 * unreachable database becomes SERVICE_UNAVAILABLE, and anything else stays an opaque 500.
 */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) {
    // tRPC wraps anything a procedure throws in an INTERNAL_SERVER_ERROR; unwrap and map the cause.
    const cause = error.cause;
    if (error.code === "INTERNAL_SERVER_ERROR" && cause && !(cause instanceof TRPCError)) return toTRPCError(cause);
    return error;
  }
  if (error instanceof AppError) return new TRPCError({ code: error.trpcCode, message: error.userMessage, cause: error });
  if (isRecordNotFound(error)) return toTRPCError(new AppError("NOT_FOUND", "not found"));
  if (isDependencyUnavailable(error)) {
    return toTRPCError(new AppError("SERVICE_UNAVAILABLE", "a backing service is unavailable, retry shortly", { cause: error }));
  }
  return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "internal error", cause: error });
}

const t = initTRPC.context<RequestContext>().create({
  errorFormatter({ shape, error }) {
    const app = error.cause instanceof AppError ? error.cause : undefined;
    const zodError = error.cause instanceof ZodError ? error.cause : undefined;
    const zod = zodError ? z.flattenError(zodError) : undefined;
    return {
      ...shape,
      // Internal errors never leak their message; the request id lets an operator find the log line.
      message: error.code === "INTERNAL_SERVER_ERROR" ? "internal error" : zodError ? validationMessage(zodError) : shape.message,
      data: {
        code: shape.data.code,
        httpStatus: app?.httpStatus ?? shape.data.httpStatus,
        path: shape.data.path,
        appCode: app?.code ?? (zod ? ("BAD_REQUEST" satisfies keyof typeof AppErrorCode) : undefined),
        details: app?.details,
        fieldErrors: zod?.fieldErrors,
      },
    };
  },
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

const errorMapping = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    (result as { error: TRPCError }).error = toTRPCError(result.error);
  }
  return result;
});

export const publicProcedure = t.procedure.use(errorMapping);

export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const token = bearerToken(ctx.authorization);
  if (!token) throw new AppError("UNAUTHORIZED", "a valid API key is required (Authorization: Bearer ak_...)");
  const user = await authenticateApiKey(ctx.db, token);
  if (!user) throw new AppError("UNAUTHORIZED", "this API key is invalid or has been revoked");
  return next({ ctx: { ...ctx, user } });
});

export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.user.role !== "ADMIN") throw new AppError("FORBIDDEN", "this needs an administrator's key");
  return next({ ctx });
});
