import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SignedOperation } from "./driver.ts";
import { OPERATION_METHOD, signLocalUrl, verifyLocalRequest } from "./local-signing.ts";

/**
 * Property tests of the local driver's signed URLs (issue 11): any URL the signer makes verifies as exactly
 * the operation it was made for, and no edit of one character — anywhere in the path or query — turns it
 * into a URL for a different operation. Together with local-signing.test.ts's named cases.
 */
const secret = "p".repeat(40);
const baseUrl = "http://127.0.0.1:3000";
const now = new Date("2030-06-01T12:00:00Z");

const segment = fc.stringMatching(/^[A-Za-z0-9 ._ü%+-]{1,20}$/).filter((s) => s !== "." && s !== "..");
const key = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `uploads/${parts.join("/")}`);
const uploadId = fc.stringMatching(/^[0-9a-f]{32}$/);
const mime = fc.constantFrom("text/plain", "image/png", "application/octet-stream");
const bytes = fc.integer({ min: 0, max: 5 * 1024 ** 3 });
const part = fc.integer({ min: 1, max: 10_000 });

const operation: fc.Arbitrary<SignedOperation> = fc.oneof(
  fc.record({ op: fc.constant("putObject" as const), key, contentType: mime, maxBytes: bytes }),
  fc.record({ op: fc.constant("createMultipart" as const), key, contentType: mime }),
  fc.record({ op: fc.constant("uploadPart" as const), key, uploadId, partNumber: part, maxBytes: bytes }),
  fc.record({ op: fc.constant("listParts" as const), key, uploadId }),
  fc.record({ op: fc.constant("completeMultipart" as const), key, uploadId }),
  fc.record({ op: fc.constant("abortMultipart" as const), key, uploadId }),
  fc.record({ op: fc.constant("getObject" as const), key, filename: segment, contentType: mime }),
);
const ttl = fc.integer({ min: 1, max: 7 * 24 * 3600 });

function sign(op: SignedOperation, ttlSeconds: number): string {
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
  return signLocalUrl({ baseUrl, secret, method: OPERATION_METHOD[op.op], operation: op, expiresAt, now });
}

describe("[STORAGE][SIGNING] properties", () => {
  it("every signed URL verifies as exactly its operation, with its method only", () => {
    fc.assert(
      fc.property(operation, ttl, (op, seconds) => {
        const url = sign(op, seconds);
        const verified = verifyLocalRequest({ secret, method: OPERATION_METHOD[op.op], url, now });
        expect(verified).toMatchObject({ ok: true, operation: op });
        for (const other of ["GET", "PUT", "POST", "DELETE"].filter((m) => m !== OPERATION_METHOD[op.op])) {
          expect(verifyLocalRequest({ secret, method: other, url, now }).ok).toBe(false);
        }
        // Expired one second after its expiry, whatever the operation.
        const after = new Date(now.getTime() + seconds * 1000 + 1000);
        expect(verifyLocalRequest({ secret, method: OPERATION_METHOD[op.op], url, now: after })).toEqual({ ok: false, reason: "expired" });
      }),
      { numRuns: 300 },
    );
  });

  it("no one-character edit of the path or query yields a URL for another operation", () => {
    const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(operation, ttl, fc.nat(), printable, fc.constantFrom("replace", "insert", "delete"), (op, seconds, at, char, edit) => {
        const url = sign(op, seconds);
        const start = baseUrl.length; // edit the signed part, not the origin
        const i = start + (at % (url.length - start));
        const tampered =
          edit === "replace"
            ? url.slice(0, i) + char + url.slice(i + 1)
            : edit === "insert"
              ? url.slice(0, i) + char + url.slice(i)
              : url.slice(0, i) + url.slice(i + 1);
        for (const method of ["GET", "PUT", "POST", "DELETE"]) {
          const verified = verifyLocalRequest({ secret, method, url: tampered, now });
          // An edit may be a no-op after decoding (`%7E` for `~`); then it must mean the very same call.
          if (verified.ok) expect(verified.operation).toEqual(op);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
