/**
 * Turns a client-supplied filename into one that is safe as the last segment of a storage key and as
 * a download name on any OS. The original is kept for display only; this result is the only name
 * that ever reaches a path. Browser-safe (the admin shows the same verdict before uploading).
 */
export const MAX_FILENAME_BYTES = 200;

/** Extensions that execute on some server or desktop; refused anywhere in a name (`a.php.jpg` too). */
export const DANGEROUS_EXTENSIONS = new Set([
  "php",
  "php3",
  "php4",
  "php5",
  "php7",
  "phtml",
  "phar",
  "pht",
  "phps",
  "asp",
  "aspx",
  "ascx",
  "ashx",
  "asmx",
  "cer",
  "jsp",
  "jspx",
  "cgi",
  "pl",
  "py",
  "rb",
  "sh",
  "bash",
  "zsh",
  "ps1",
  "psm1",
  "bat",
  "cmd",
  "com",
  "exe",
  "dll",
  "msi",
  "scr",
  "pif",
  "vbs",
  "vbe",
  "js",
  "mjs",
  "jse",
  "wsf",
  "wsh",
  "hta",
  "jar",
  "war",
  "htaccess",
  "htm",
  "html",
  "xhtml",
  "shtml",
  "svg",
  "svgz",
  "lnk",
  "reg",
  "inf",
  "cpl",
]);

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i;
// C0/C1 controls, bidi embeddings/overrides/isolates, zero-width and other invisible format characters.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/gu;
const FORBIDDEN_CHARS = /[<>:"/\\|?*]/g;

export type FilenameVerdict = { ok: true; safeName: string; extension: string } | { ok: false; reason: string };

export function sanitizeFilename(input: string): FilenameVerdict {
  if (typeof input !== "string" || input.length === 0) return { ok: false, reason: "the filename is empty" };
  if (input.includes("\u0000")) return { ok: false, reason: "the filename contains a NUL character" };
  if (/%(00|0a|0d|2f|5c)/i.test(input)) return { ok: false, reason: "the filename contains an encoded control character or separator" };
  if (/[\u202a-\u202e\u2066-\u2069]/u.test(input)) return { ok: false, reason: "the filename contains bidirectional override characters" };

  // Only the last path segment counts: "../../etc/passwd" and "C:\\x\\y.txt" name "passwd" and "y.txt".
  const lastSegment = input.split(/[/\\]/).pop() ?? "";
  let name = lastSegment.normalize("NFC").replace(INVISIBLE, "").replace(FORBIDDEN_CHARS, "_").replace(/\s+/g, " ");
  // Leading dots would make hidden files; trailing dots and spaces are stripped by Windows.
  name = name.replace(/^[.\s]+/, "").replace(/[.\s]+$/, "");
  if (!name) return { ok: false, reason: "the filename has no usable characters" };

  const parts = name.split(".");
  const extension = parts.length > 1 ? (parts.at(-1) ?? "").toLowerCase() : "";
  const dangerous = parts.slice(1).find((p) => DANGEROUS_EXTENSIONS.has(p.toLowerCase().trim()));
  if (dangerous) return { ok: false, reason: `files with a .${dangerous.toLowerCase()} extension are not accepted` };

  const base = parts[0] ?? "";
  if (WINDOWS_RESERVED.test(base.trim())) name = `_${name}`;
  return { ok: true, safeName: truncateUtf8(name, extension), extension };
}

/** Cuts the base name so the whole name fits MAX_FILENAME_BYTES, keeping the extension and whole characters. */
function truncateUtf8(name: string, extension: string): string {
  const encoder = new TextEncoder();
  if (encoder.encode(name).length <= MAX_FILENAME_BYTES) return name;
  const suffix = extension ? `.${extension}` : "";
  const budget = MAX_FILENAME_BYTES - encoder.encode(suffix).length;
  let base = "";
  let used = 0;
  for (const char of name.slice(0, name.length - suffix.length)) {
    const size = encoder.encode(char).length;
    if (used + size > budget) break;
    base += char;
    used += size;
  }
  return `${base.replace(/[.\s]+$/, "")}${suffix}`;
}
