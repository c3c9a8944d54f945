/**
 * One error type for every expected failure. Each code maps to a tRPC code and an HTTP status, so the
 * API answers the same way over tRPC and REST, and clients can branch on `data.appCode`.
 */
export const AppErrorCode = {
  /** The request is malformed or a value is out of range. */
  BAD_REQUEST: { trpc: "BAD_REQUEST", http: 400 },
  /** No valid API key was presented. */
  UNAUTHORIZED: { trpc: "UNAUTHORIZED", http: 401 },
  /** The key is valid but its user may not do this. */
  FORBIDDEN: { trpc: "FORBIDDEN", http: 403 },
  /** Missing, or owned by someone else (never revealed). */
  NOT_FOUND: { trpc: "NOT_FOUND", http: 404 },
  /** The asset is not in a state that allows this operation. */
  INVALID_STATE: { trpc: "CONFLICT", http: 409 },
  /** The declared or actual size is over the configured limit. */
  FILE_TOO_LARGE: { trpc: "PAYLOAD_TOO_LARGE", http: 413 },
  /** The file is empty. */
  FILE_EMPTY: { trpc: "BAD_REQUEST", http: 400 },
  /** The MIME type is not on the allowlist. */
  MIME_NOT_ALLOWED: { trpc: "UNSUPPORTED_MEDIA_TYPE", http: 415 },
  /** The content's magic bytes contradict the declared type or the extension. */
  MIME_MISMATCH: { trpc: "UNPROCESSABLE_CONTENT", http: 422 },
  /** The filename cannot be made safe (empty after sanitising, dangerous double extension, ...). */
  INVALID_FILENAME: { trpc: "BAD_REQUEST", http: 400 },
  /** The stored object does not exist (the client never uploaded it). */
  OBJECT_MISSING: { trpc: "PRECONDITION_FAILED", http: 412 },
  /** The stored object's size differs from the declared size. */
  SIZE_MISMATCH: { trpc: "UNPROCESSABLE_CONTENT", http: 422 },
  /** The stored object's sha256 differs from the one the client declared. */
  CHECKSUM_MISMATCH: { trpc: "UNPROCESSABLE_CONTENT", http: 422 },
  /** Too many requests in the window; retry later. */
  RATE_LIMITED: { trpc: "TOO_MANY_REQUESTS", http: 429 },
  /** The user has too many unfinished uploads. */
  QUOTA_EXCEEDED: { trpc: "TOO_MANY_REQUESTS", http: 429 },
  /** A dependency (database, Redis, storage, scanner) is unreachable; retry later. */
  SERVICE_UNAVAILABLE: { trpc: "SERVICE_UNAVAILABLE", http: 503 },
  /** A bug: logged with the request id, never shown in detail. */
  INTERNAL: { trpc: "INTERNAL_SERVER_ERROR", http: 500 },
} as const;

export type AppErrorCode = keyof typeof AppErrorCode;

export class AppError extends Error {
  readonly code: AppErrorCode;
  /** Safe to show to the end user; `message` may carry more detail for logs. */
  readonly userMessage: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: AppErrorCode,
    message: string,
    options: { userMessage?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.userMessage = options.userMessage ?? message;
    this.details = options.details;
  }

  get httpStatus(): number {
    return AppErrorCode[this.code].http;
  }

  get trpcCode(): (typeof AppErrorCode)[AppErrorCode]["trpc"] {
    return AppErrorCode[this.code].trpc;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
