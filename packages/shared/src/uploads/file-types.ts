/**
 * Which extensions each accepted MIME type may carry, and which types content sniffing may report
 * for it. Used at initiate (declared type vs extension) and at confirm (magic bytes vs both).
 */
export const MIME_EXTENSIONS: Record<string, readonly string[]> = {
  "image/jpeg": ["jpg", "jpeg", "jpe", "jfif"],
  "image/png": ["png"],
  "image/gif": ["gif"],
  "image/webp": ["webp"],
  "image/avif": ["avif"],
  "image/tiff": ["tif", "tiff"],
  "application/pdf": ["pdf"],
  "application/zip": ["zip"],
  "text/plain": ["txt", "text", "log", "csv", "md"],
  "text/csv": ["csv"],
  "audio/mpeg": ["mp3"],
  "video/mp4": ["mp4", "m4v"],
};

/** Declared types whose content has no magic bytes to check (text). */
export const UNSNIFFABLE_TYPES = new Set(["text/plain", "text/csv"]);

/** A catch-all type: any non-dangerous extension, and any detected content that is itself allowed. */
export const GENERIC_BINARY = "application/octet-stream";

export function extensionMatchesMime(extension: string, mime: string): boolean {
  if (mime === GENERIC_BINARY) return true;
  const allowed = MIME_EXTENSIONS[mime];
  return allowed ? allowed.includes(extension.toLowerCase()) : false;
}
