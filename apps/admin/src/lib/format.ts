/** Formatting shared by the pages: sizes, dates and types the way people read them. */

const UNITS = ["bytes", "KB", "MB", "GB", "TB"] as const;
const numberFormat = new Intl.NumberFormat();
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** 1536 → "1.5 KB" (binary multiples, one decimal below 10). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return "—";
  if (bytes < 1024) return `${numberFormat.format(bytes)} ${bytes === 1 ? "byte" : "bytes"}`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
}

export function formatCount(n: number): string {
  return numberFormat.format(n);
}

export function formatDate(value: Date | string | null | undefined): string {
  if (!value) return "—";
  return dateTimeFormat.format(new Date(value));
}

const shortFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const shortWithYear = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });

/** Compact, for table cells: "Nov 28, 05:55" this year, "Nov 28, 2025" before. */
export function formatWhen(value: Date | string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  return date.getFullYear() === new Date().getFullYear() ? shortFormat.format(date) : shortWithYear.format(date);
}

/** `<time>` needs a machine-readable value. */
export function isoDate(value: Date | string): string {
  return new Date(value).toISOString();
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms == null) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const MIME_LABELS: Record<string, string> = {
  "image/jpeg": "JPEG image",
  "image/png": "PNG image",
  "image/gif": "GIF image",
  "image/webp": "WebP image",
  "application/pdf": "PDF",
  "application/zip": "ZIP archive",
  "text/plain": "Plain text",
  "application/octet-stream": "Binary file",
};

/** "image/png" → "PNG image"; unknown types are shown as they are. */
export function mimeLabel(mime: string | null | undefined): string {
  if (!mime) return "—";
  return MIME_LABELS[mime] ?? mime;
}

/** The allowed types in words, for the upload restrictions line. */
export function describeTypes(mimes: readonly string[]): string {
  return mimes.map(mimeLabel).join(", ");
}
