import { describe, expect, it } from "vitest";
import { checkContent } from "./content-check.ts";

const allowedMime = ["image/png", "image/jpeg", "text/plain", "application/octet-stream", "application/zip"];
const png = { mime: "image/png", ext: "png" };
const text = new TextEncoder().encode("hello");

describe("[UPLOADS][CONTENT]", () => {
  it("accepts content that matches its declared type and extension", () => {
    expect(checkContent({ declaredMime: "image/png", extension: "png", detected: png, head: new Uint8Array(8), allowedMime })).toEqual({
      ok: true,
      detectedMime: "image/png",
    });
  });
  it("refuses spoofed magic bytes (declared PNG, content JPEG)", () => {
    const verdict = checkContent({
      declaredMime: "image/png",
      extension: "png",
      detected: { mime: "image/jpeg", ext: "jpg" },
      head: text,
      allowedMime,
    });
    expect(verdict).toMatchObject({ ok: false, code: "MIME_MISMATCH" });
  });
  it("refuses a declared image without any image signature", () => {
    expect(checkContent({ declaredMime: "image/png", extension: "png", detected: undefined, head: text, allowedMime })).toMatchObject({
      ok: false,
      code: "MIME_MISMATCH",
    });
  });
  it("refuses content of a type outside the allowlist even when declared generic", () => {
    const exe = { mime: "application/x-msdownload", ext: "exe" };
    expect(
      checkContent({ declaredMime: "application/octet-stream", extension: "bin", detected: exe, head: text, allowedMime }),
    ).toMatchObject({
      ok: false,
      code: "MIME_NOT_ALLOWED",
    });
  });
  it("accepts plain text and refuses binary content declared as text", () => {
    expect(checkContent({ declaredMime: "text/plain", extension: "txt", detected: undefined, head: text, allowedMime }).ok).toBe(true);
    expect(
      checkContent({ declaredMime: "text/plain", extension: "txt", detected: undefined, head: new Uint8Array([104, 0, 105]), allowedMime }),
    ).toMatchObject({
      ok: false,
      code: "MIME_MISMATCH",
    });
  });
  it("refuses an extension that contradicts the content", () => {
    expect(checkContent({ declaredMime: "image/png", extension: "jpg", detected: png, head: text, allowedMime })).toMatchObject({
      ok: false,
      code: "MIME_MISMATCH",
    });
  });
});
