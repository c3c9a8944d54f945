import { describe, expect, it } from "vitest";
import { AppError, AppErrorCode } from "./errors.ts";

describe("[ERRORS]", () => {
  it("maps every code to a tRPC code and an HTTP status that agree", () => {
    const trpcToHttp: Record<string, number> = {
      BAD_REQUEST: 400,
      UNAUTHORIZED: 401,
      FORBIDDEN: 403,
      NOT_FOUND: 404,
      CONFLICT: 409,
      PRECONDITION_FAILED: 412,
      PAYLOAD_TOO_LARGE: 413,
      UNSUPPORTED_MEDIA_TYPE: 415,
      UNPROCESSABLE_CONTENT: 422,
      TOO_MANY_REQUESTS: 429,
      INTERNAL_SERVER_ERROR: 500,
      SERVICE_UNAVAILABLE: 503,
    };
    for (const [code, map] of Object.entries(AppErrorCode)) {
      expect(trpcToHttp[map.trpc], code).toBe(map.http);
    }
  });

  it("keeps a user-facing message apart from the logged one", () => {
    const error = new AppError("SIZE_MISMATCH", "object is 10 bytes, declared 12", {
      userMessage: "the uploaded file is smaller than declared",
    });
    expect(error.httpStatus).toBe(422);
    expect(error.trpcCode).toBe("UNPROCESSABLE_CONTENT");
    expect(error.userMessage).toBe("the uploaded file is smaller than declared");
    expect(error.message).toBe("object is 10 bytes, declared 12");
  });
});
