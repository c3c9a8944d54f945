import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { SignedOperation } from "./driver.ts";
import { invalidKeyReason, OPERATION_METHOD, PARAM, signLocalUrl, verifyLocalRequest } from "./local-signing.ts";

const secret = "s".repeat(40);
const baseUrl = "http://localhost:3000";
const key = "uploads/user-1/asset-1/report final ü.pdf";
const uploadId = "0123456789abcdef0123456789abcdef";
const now = new Date("2030-01-01T00:00:00Z");
const inFiveMinutes = new Date(now.getTime() + 300_000);

const operations: SignedOperation[] = [
  { op: "putObject", key, contentType: "application/pdf", maxBytes: 1234 },
  { op: "createMultipart", key, contentType: "application/pdf" },
  { op: "uploadPart", key, uploadId, partNumber: 7, maxBytes: 8 * 1024 * 1024 },
  { op: "listParts", key, uploadId },
  { op: "completeMultipart", key, uploadId },
  { op: "abortMultipart", key, uploadId },
  { op: "getObject", key, filename: 'report "final" ü.pdf', contentType: "application/pdf" },
  { op: "createMultipart", key, contentType: "application/pdf", partBytes: 8 * 1024 * 1024 },
];

function sign(operation: SignedOperation, expiresAt = inFiveMinutes): string {
  return signLocalUrl({ baseUrl, secret, method: OPERATION_METHOD[operation.op], operation, expiresAt, now });
}

function verify(url: string, method: string, at = now) {
  return verifyLocalRequest({ secret, method, url, now: at });
}

/** Replaces one query parameter (keeping the signature), as a tamperer would. */
function withParam(url: string, name: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.toString();
}

describe("signLocalUrl / verifyLocalRequest", () => {
  it.each(operations)("round-trips $op", (operation) => {
    const url = sign(operation);
    expect(url.startsWith(`${baseUrl}/storage/uploads/user-1/asset-1/report%20final%20%C3%BC.pdf?`)).toBe(true);
    expect(verify(url, OPERATION_METHOD[operation.op])).toEqual({ ok: true, operation, expiresAt: inFiveMinutes });
  });

  it("puts the documented parameters in the URL", () => {
    const url = new URL(sign(operations[2]!));
    expect(url.searchParams.get(PARAM.op)).toBe("uploadPart");
    expect(url.searchParams.get(PARAM.expires)).toBe(String(inFiveMinutes.getTime() / 1000));
    expect(url.searchParams.get("uploadId")).toBe(uploadId);
    expect(url.searchParams.get("partNumber")).toBe("7");
    expect(url.searchParams.get(PARAM.maxBytes)).toBe(String(8 * 1024 * 1024));
    expect(url.searchParams.get(PARAM.signature)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("signs a multipart upload's part size: it cannot be changed, added or removed", () => {
    const withSize = sign(operations[7]!);
    const without = sign(operations[1]!);
    expect(verify(withParam(withSize, PARAM.maxBytes, String(1024 ** 3)), "POST")).toEqual({ ok: false, reason: "bad_signature" });
    expect(verify(removeParam(withSize, PARAM.maxBytes), "POST")).toEqual({ ok: false, reason: "bad_signature" });
    expect(verify(withParam(without, PARAM.maxBytes, String(1024 ** 3)), "POST")).toEqual({ ok: false, reason: "bad_signature" });
    expect(() => sign({ op: "createMultipart", key, contentType: "application/pdf", partBytes: 0 })).toThrow("partBytes");
  });

  describe("refuses tampering", () => {
    const part = operations[2]!;
    const cases: Array<[string, (url: string) => string, string]> = [
      ["key", (u) => u.replace("/asset-1/", "/asset-2/"), "bad_signature"],
      ["key outside uploads/", (u) => u.replace("/storage/uploads/", "/storage/quarantine/"), "malformed"],
      ["op (to another PUT op)", (u) => withParam(u, PARAM.op, "putObject"), "malformed"], // putObject carries no uploadId
      ["part number", (u) => withParam(u, "partNumber", "8"), "bad_signature"],
      ["upload id", (u) => withParam(u, "uploadId", "f".repeat(32)), "bad_signature"],
      ["expiry", (u) => withParam(u, PARAM.expires, String(inFiveMinutes.getTime() / 1000 + 3600)), "bad_signature"],
      ["max bytes", (u) => withParam(u, PARAM.maxBytes, String(10 ** 12)), "bad_signature"],
      ["signature", (u) => withParam(u, PARAM.signature, flipLastHex(new URL(u).searchParams.get(PARAM.signature)!)), "bad_signature"],
      ["signature removed", (u) => removeParam(u, PARAM.signature), "malformed"],
      ["duplicated parameter", (u) => `${u}&partNumber=8`, "malformed"],
      ["non-canonical number", (u) => withParam(u, "partNumber", "07"), "malformed"],
    ];
    it.each(cases)("%s", (_name, tamper, reason) => {
      expect(verify(tamper(sign(part)), "PUT")).toEqual({ ok: false, reason });
    });

    it("op relabelled to another op of the same method", () => {
      // completeMultipart → createMultipart (both POST), with the parameters made to fit the new op.
      const url = sign(operations[4]!);
      const relabelled = withParam(removeParam(url, "uploadId"), PARAM.op, "createMultipart");
      expect(verify(withParam(relabelled, PARAM.contentType, "application/pdf"), "POST")).toEqual({ ok: false, reason: "bad_signature" });
    });

    it("method", () => {
      expect(verify(sign(part), "GET")).toEqual({ ok: false, reason: "method_mismatch" });
      expect(verify(sign(operations[3]!), "DELETE")).toEqual({ ok: false, reason: "method_mismatch" });
    });

    it("the download name and type", () => {
      const url = sign(operations[6]!);
      expect(verify(withParam(url, PARAM.filename, "evil.html"), "GET")).toEqual({ ok: false, reason: "bad_signature" });
      expect(verify(withParam(url, PARAM.contentType, "text/html"), "GET")).toEqual({ ok: false, reason: "bad_signature" });
    });

    it("a URL signed with another secret", () => {
      const other = signLocalUrl({ baseUrl, secret: "t".repeat(40), method: "PUT", operation: part, expiresAt: inFiveMinutes, now });
      expect(verify(other, "PUT")).toEqual({ ok: false, reason: "bad_signature" });
    });
  });

  describe("replay", () => {
    it("for another part, upload or key is refused", () => {
      const url = sign(operations[2]!);
      const otherPart = sign({ ...(operations[2] as Extract<SignedOperation, { op: "uploadPart" }>), partNumber: 8 });
      // The signature of part 7 on part 8's URL:
      const swapped = withParam(otherPart, PARAM.signature, new URL(url).searchParams.get(PARAM.signature)!);
      expect(verify(swapped, "PUT")).toEqual({ ok: false, reason: "bad_signature" });
      const otherKey = url.replace("/asset-1/", "/asset-9/");
      expect(verify(otherKey, "PUT")).toEqual({ ok: false, reason: "bad_signature" });
    });

    it("with another method is refused", () => {
      expect(verify(sign(operations[0]!), "POST")).toEqual({ ok: false, reason: "method_mismatch" });
      expect(verify(sign(operations[6]!), "PUT")).toEqual({ ok: false, reason: "method_mismatch" });
    });
  });

  describe("expiry", () => {
    it("is refused at and after the expiry instant", () => {
      const url = sign(operations[0]!);
      expect(verify(url, "PUT", new Date(inFiveMinutes.getTime() - 1000)).ok).toBe(true);
      expect(verify(url, "PUT", inFiveMinutes)).toEqual({ ok: false, reason: "expired" });
      expect(verify(url, "PUT", new Date(inFiveMinutes.getTime() + 86_400_000))).toEqual({ ok: false, reason: "expired" });
    });

    it("more than 7 days ahead is refused even with a valid signature", () => {
      // Signed "in the future" so the signer allows it; verified now it is 8 days away.
      const later = new Date(now.getTime() + 2 * 86_400_000);
      const url = signLocalUrl({
        baseUrl,
        secret,
        method: "PUT",
        operation: operations[0]!,
        expiresAt: new Date(now.getTime() + 8 * 86_400_000),
        now: later,
      });
      expect(verify(url, "PUT")).toEqual({ ok: false, reason: "malformed" });
    });

    it("the signer refuses past and over-long expiries", () => {
      expect(() => sign(operations[0]!, now)).toThrow(/future/);
      expect(() => sign(operations[0]!, new Date(now.getTime() + 8 * 86_400_000))).toThrow(/7 days/);
    });
  });

  describe("keys and values", () => {
    it.each([
      "quarantine/u/a/x",
      "thumbnails/u/a/x",
      "uploads//a",
      "uploads/./a",
      "uploads/../quarantine/a",
      "uploads/a/",
      "uploads/a\\b",
      "uploads/a\0b",
      "uploads/a\nb",
    ])("the signer refuses %j", (bad) => {
      expect(() => sign({ op: "listParts", key: bad, uploadId })).toThrow();
    });

    it("verify refuses keys outside uploads/, with dot or empty segments, backslashes or NUL, before the HMAC", () => {
      // `%2F..%2F` survives URL parsing (only literal and %2e dot segments are resolved) and decodes to `/../`.
      for (const badPath of ["quarantine/u/a/x", "uploads/a%2F..%2Fb", "uploads/a%5Cb", "uploads/a%00b", "uploads//b", "uploads/a/%2F"]) {
        const url = `${baseUrl}/storage/${badPath}?${PARAM.op}=listParts&${PARAM.expires}=${inFiveMinutes.getTime() / 1000}&uploadId=${uploadId}&${PARAM.signature}=${"0".repeat(64)}`;
        expect(verify(url, "GET")).toEqual({ ok: false, reason: "malformed" });
      }
    });

    it("a dot-dot path the URL parser resolves is checked as the key it resolves to", () => {
      const url = sign({ op: "listParts", key: "uploads/u/a/x", uploadId });
      // WHATWG URL parsing turns /uploads/u/zz/../a/x into /uploads/u/a/x, the signed key: same call, allowed.
      expect(verify(url.replace("/u/a/x", "/u/zz/../a/x"), "GET").ok).toBe(true);
      // Walking out of uploads/ lands on another key and fails.
      expect(verify(url.replace("/storage/uploads/u/a/x", "/storage/uploads/../quarantine/u/a/x"), "GET")).toEqual({
        ok: false,
        reason: "malformed",
      });
    });

    it("part numbers outside 1..10000 are refused by both sides", () => {
      const part = operations[2] as Extract<SignedOperation, { op: "uploadPart" }>;
      expect(() => sign({ ...part, partNumber: 0 })).toThrow();
      expect(() => sign({ ...part, partNumber: 10_001 })).toThrow();
      expect(sign({ ...part, partNumber: 10_000 })).toContain("partNumber=10000");
      const url = sign(part);
      for (const n of ["0", "10001", "-1", "1.5", "abc"])
        expect(verify(withParam(url, "partNumber", n), "PUT")).toEqual({ ok: false, reason: "malformed" });
    });

    it("upload ids that are not 32 hex digits are refused (they become directory names)", () => {
      expect(() => sign({ op: "listParts", key, uploadId: "../../etc" })).toThrow();
      expect(verify(withParam(sign(operations[3]!), "uploadId", "../x"), "GET")).toEqual({ ok: false, reason: "malformed" });
    });

    it("refuses a short secret", () => {
      expect(() =>
        signLocalUrl({ baseUrl, secret: "short", method: "GET", operation: operations[3]!, expiresAt: inFiveMinutes, now }),
      ).toThrow(/32/);
    });

    it("the method must match the operation when signing", () => {
      expect(() => signLocalUrl({ baseUrl, secret, method: "GET", operation: operations[0]!, expiresAt: inFiveMinutes, now })).toThrow();
    });

    it("invalidKeyReason accepts ordinary keys", () => {
      expect(invalidKeyReason("uploads/u/a/photo (1).jpg")).toBeNull();
      expect(invalidKeyReason("quarantine/u/a/x")).toBeNull();
    });

    it("values cannot shift between fields of the canonical string", () => {
      // Sanity check of the construction: an HMAC over a JSON array, not a joined string.
      const a = createHmac("sha256", secret)
        .update(JSON.stringify(["a\nb", "c"]))
        .digest("hex");
      const b = createHmac("sha256", secret)
        .update(JSON.stringify(["a", "b\nc"]))
        .digest("hex");
      expect(a).not.toBe(b);
    });
  });
});

function flipLastHex(hex: string): string {
  const last = hex.at(-1)!;
  return hex.slice(0, -1) + (last === "0" ? "1" : "0");
}

function removeParam(url: string, name: string): string {
  const u = new URL(url);
  u.searchParams.delete(name);
  return u.toString();
}
