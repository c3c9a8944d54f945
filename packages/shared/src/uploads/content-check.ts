import { extensionMatchesMime, GENERIC_BINARY, UNSNIFFABLE_TYPES } from "./file-types.ts";

export interface DetectedType {
  mime: string;
  ext: string;
}

export type ContentVerdict = { ok: true; detectedMime: string } | { ok: false; code: "MIME_MISMATCH" | "MIME_NOT_ALLOWED"; reason: string };

/**
 * Decides whether the stored bytes are what the client said they are. `detected` comes from magic
 * bytes (file-type); `head` is the first bytes of the object. The declared type and extension were
 * already checked against each other at initiate.
 */
export function checkContent(input: {
  declaredMime: string;
  extension: string;
  detected: DetectedType | undefined;
  head: Uint8Array;
  allowedMime: readonly string[];
}): ContentVerdict {
  const { declaredMime, extension, detected, head, allowedMime } = input;
  if (!detected) {
    if (UNSNIFFABLE_TYPES.has(declaredMime)) {
      // Text has no signature; at least refuse binary content dressed as text.
      if (head.includes(0)) return { ok: false, code: "MIME_MISMATCH", reason: `declared ${declaredMime} but the content is binary` };
      return { ok: true, detectedMime: declaredMime };
    }
    if (declaredMime === GENERIC_BINARY) return { ok: true, detectedMime: GENERIC_BINARY };
    return { ok: false, code: "MIME_MISMATCH", reason: `declared ${declaredMime} but the content has no ${declaredMime} signature` };
  }
  if (!allowedMime.includes(detected.mime)) {
    return { ok: false, code: "MIME_NOT_ALLOWED", reason: `the content is ${detected.mime}, which is not accepted` };
  }
  if (declaredMime !== GENERIC_BINARY && detected.mime !== declaredMime) {
    return { ok: false, code: "MIME_MISMATCH", reason: `declared ${declaredMime} but the content is ${detected.mime}` };
  }
  if (declaredMime !== GENERIC_BINARY && !extensionMatchesMime(extension, detected.mime)) {
    return { ok: false, code: "MIME_MISMATCH", reason: `the extension .${extension} does not fit ${detected.mime} content` };
  }
  return { ok: true, detectedMime: detected.mime };
}
