import { z } from "zod";

/**
 * The whole configuration of Airlock, validated once at start-up. Code reads `getEnv()`, never
 * `process.env`. Defaults give the embedded set-up of DESIGN.md §9 (local PostgreSQL and Redis,
 * local storage under DATA_DIR, the mock scanner outside production).
 */
const bool = z.enum(["true", "false", "1", "0", "yes", "no"]).transform((v) => v === "true" || v === "1" || v === "yes");

const csv = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);

const bytes = z.coerce.number().int().positive();

export const ZEnv = z
  .object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    HOST: z.string().min(1).default("127.0.0.1"),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    /** The address browsers use to reach the API; signed local-storage URLs point here. */
    PUBLIC_URL: z.url().default("http://localhost:3000"),
    /** Origins allowed by CORS besides the API's own; the admin's Vite dev server in development. */
    CORS_ORIGINS: csv.default([]),
    /** Largest JSON request body the API reads (uploads never pass through it). */
    BODY_LIMIT_BYTES: bytes.default(1024 * 1024),
    /**
     * A connection that sends nothing for this long is closed (a client stalled mid-upload would otherwise
     * hold its socket and temp file forever: uploads have no overall request timeout).
     */
    HTTP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
    /** Bearer token Prometheus sends to /metrics; without it, /metrics on the API needs an admin API key. */
    METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
    /** Port of the worker's /metrics and /healthz (on HOST); 0 disables it. */
    WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
    /** Serve the built admin SPA at `/` from this folder when it exists. */
    ADMIN_DIST_DIR: z.string().default("apps/admin/dist"),

    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL")
      .default("postgresql://postgres@127.0.0.1:5432/airlock"),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
      .default("redis://127.0.0.1:6379"),
    /** Prefix of every Redis key (BullMQ's included), so several deployments or test runs share a Redis. */
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, "letters, digits, _ and - only")
      .default("airlock"),

    STORAGE_DRIVER: z.enum(["local", "s3"]).default("local"),
    DATA_DIR: z.string().min(1).default("./.data"),
    /** HMAC secret of the local driver's signed URLs; required in production, generated in DATA_DIR otherwise. */
    STORAGE_SIGNING_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    S3_ENDPOINT: z.url().optional(),
    S3_REGION: z.string().default("us-east-1"),
    S3_BUCKET: z.string().default("airlock"),
    S3_ACCESS_KEY_ID: z.string().optional(),
    S3_SECRET_ACCESS_KEY: z.string().optional(),
    S3_FORCE_PATH_STYLE: bool.default(true),
    SIGNED_URL_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(30)
      .max(7 * 24 * 3600)
      .default(900),
    DOWNLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),

    UPLOAD_MAX_BYTES: bytes.default(5 * 1024 * 1024 * 1024),
    UPLOAD_ALLOWED_MIME: csv.default([
      "image/jpeg",
      "image/png",
      "image/gif",
      "image/webp",
      "application/pdf",
      "application/zip",
      "text/plain",
      "application/octet-stream",
    ]),
    MULTIPART_THRESHOLD_BYTES: bytes.default(16 * 1024 * 1024),
    MULTIPART_PART_SIZE_BYTES: z.coerce
      .number()
      .int()
      .min(5 * 1024 * 1024, "S3 requires parts of at least 5 MiB")
      .default(8 * 1024 * 1024),
    UPLOAD_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(120),
    UPLOAD_MAX_PENDING_PER_USER: z.coerce.number().int().positive().default(100),

    SCANNER_PROVIDER: z.enum(["mock", "clamav", "virustotal", "multi"]).default("mock"),
    /** Extra byte patterns (comma-separated) the mock scanner treats as infected. */
    MOCK_SCANNER_PATTERNS: csv.default([]),
    CLAMAV_HOST: z.string().default("127.0.0.1"),
    CLAMAV_PORT: z.coerce.number().int().min(1).max(65535).default(3310),
    CLAMAV_SOCKET: z.string().optional(),
    CLAMAV_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
    /** clamd connections at once per process. */
    CLAMAV_POOL_SIZE: z.coerce.number().int().min(1).max(64).default(4),
    /** clamd's StreamMaxLength; when set, the client stops at it itself (the file is unscannable). */
    CLAMAV_STREAM_MAX_LENGTH: bytes.optional(),
    /**
     * ZIP limits checked from the central directory before any engine scans (decompression bombs that
     * clamd answers OK for): past any of them the file is unscannable and quarantined. The defaults are
     * clamd's MaxFiles, MaxFileSize and MaxScanSize; the ratio counts from 10 MiB expanded.
     */
    ARCHIVE_MAX_ENTRIES: z.coerce.number().int().min(1).default(10_000),
    ARCHIVE_MAX_ENTRY_BYTES: bytes.default(100 * 1024 * 1024),
    ARCHIVE_MAX_EXPANDED_BYTES: bytes.default(400 * 1024 * 1024),
    ARCHIVE_MAX_RATIO: z.coerce.number().positive().default(200),
    VIRUSTOTAL_API_KEY: z.string().optional(),
    /** Engines that must call a file malicious for VirusTotal's verdict to be "infected". */
    VIRUSTOTAL_MALICIOUS_THRESHOLD: z.coerce.number().int().min(1).default(1),
    /** How long to wait before asking VirusTotal again about a submitted file. */
    VIRUSTOTAL_POLL_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
    /** The API key's quota (the public tier allows 4). */
    VIRUSTOTAL_REQUESTS_PER_MINUTE: z.coerce.number().int().min(2).default(4),
    /** multi: weighted share of engines that must flag a file (0–1], and how many must answer at all. */
    MULTI_THRESHOLD: z.coerce.number().gt(0).max(1).default(0.5),
    MULTI_MIN_ANSWERS: z.coerce.number().int().min(1).default(1),
    MULTI_CLAMAV_WEIGHT: z.coerce.number().positive().default(1),
    MULTI_VIRUSTOTAL_WEIGHT: z.coerce.number().positive().default(1),
    VIRUSTOTAL_URL: z.url().default("https://www.virustotal.com/api/v3"),
    SCAN_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    SCAN_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
    /** First retry delay of a failed scan; doubles on each attempt. */
    SCAN_BACKOFF_MS: z.coerce.number().int().min(0).default(5_000),
    /** BullMQ job lock; a worker that dies holding a job loses it after this, and another takes over. */
    WORKER_LOCK_DURATION_MS: z.coerce.number().int().min(1000).default(30_000),
    /** How often workers look for jobs whose worker died (stalled jobs). */
    WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(1000).default(30_000),
    /** Assets in UPLOADED or SCANNING longer than this are re-queued by the reconciler. */
    RECONCILE_AFTER_SECONDS: z.coerce.number().int().min(1).default(300),
    /** Cleanup ages: unfinished uploads, FAILED and QUARANTINED assets older than these are deleted. */
    CLEANUP_ABANDONED_HOURS: z.coerce.number().positive().default(24),
    CLEANUP_FAILED_HOURS: z.coerce
      .number()
      .positive()
      .default(7 * 24),
    CLEANUP_QUARANTINED_HOURS: z.coerce
      .number()
      .positive()
      .default(30 * 24),
    /** Alert thresholds (evaluated every minute and right after the events that warrant it). */
    ALERT_SUCCESS_RATE_MIN: z.coerce.number().min(0).max(1).default(0.95),
    ALERT_SUCCESS_RATE_MIN_SAMPLE: z.coerce.number().int().min(1).default(20),
    ALERT_SCAN_TIME_MAX_MS: z.coerce.number().int().positive().default(120_000),
    ALERT_SCAN_QUEUE_MAX: z.coerce.number().int().min(0).default(100),
    ALERT_WINDOW_MINUTES: z.coerce.number().int().min(1).default(60),
    /** Longest side of image thumbnails, in pixels. */
    THUMBNAIL_SIZE: z.coerce.number().int().min(16).max(2048).default(320),

    /** SMTP server of outgoing mail (`smtp://user:pass@host:587`, `smtps://...`); no email is sent without it. */
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\//, "must be an smtp:// or smtps:// URL")
      .optional(),
    MAIL_FROM: z.string().min(3).default("Airlock <airlock@localhost>"),
    /** Webhook targets on private, loopback or link-local addresses are refused unless this is set. */
    WEBHOOK_ALLOW_PRIVATE_TARGETS: bool.default(false),
    WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    /** The receiver's response body is read up to this many bytes (an excerpt is kept in the delivery log). */
    WEBHOOK_MAX_RESPONSE_BYTES: bytes.default(64 * 1024),
    /** Attempts of one delivery; with the default base delay the retries span about a day (23.9 h). */
    WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(30).default(12),
    /** Delay before the second attempt; doubles on each further attempt. */
    WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(0).default(42_000),
    /** An endpoint is disabled (and admins notified) after this many consecutive failed attempts. */
    WEBHOOK_DISABLE_AFTER_FAILURES: z.coerce.number().int().min(1).default(20),
    /** After a secret rotation, deliveries are also signed with the old secret for this long. */
    WEBHOOK_SECRET_OVERLAP_HOURS: z.coerce.number().min(0).default(24),

    /** Email of the administrator `npm start` creates on first run. */
    ADMIN_EMAIL: z.email().default("admin@airlock.local"),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV !== "production") return;
    if (env.SCANNER_PROVIDER === "mock") {
      ctx.addIssue({
        code: "custom",
        path: ["SCANNER_PROVIDER"],
        message: "the mock scanner is for development and tests; choose clamav, virustotal or multi in production",
      });
    }
    if (env.STORAGE_DRIVER === "local" && !env.STORAGE_SIGNING_SECRET) {
      ctx.addIssue({
        code: "custom",
        path: ["STORAGE_SIGNING_SECRET"],
        message: "required in production with the local storage driver",
      });
    }
  })
  .superRefine((env, ctx) => {
    if (env.SCANNER_PROVIDER === "virustotal" && !env.VIRUSTOTAL_API_KEY) {
      ctx.addIssue({ code: "custom", path: ["VIRUSTOTAL_API_KEY"], message: "required when SCANNER_PROVIDER=virustotal" });
    }
    if (env.STORAGE_DRIVER !== "s3") return;
    for (const key of ["S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] as const) {
      if (!env[key]) ctx.addIssue({ code: "custom", path: [key], message: "required when STORAGE_DRIVER=s3" });
    }
  });

export type Env = z.infer<typeof ZEnv>;

/** Thrown by `parseEnv`; its message lists every invalid variable, one per line. */
export class EnvError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "EnvError";
  }
}

/** Validates a set of variables; empty strings count as unset so `FOO=` falls back to the default. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const result = ZEnv.safeParse(cleaned);
  if (result.success) return result.data;
  throw new EnvError(result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`));
}

let cached: Env | undefined;

/**
 * The validated process configuration. On invalid config the process prints what is wrong and
 * exits, so a service never runs half-configured.
 */
export function getEnv(): Env {
  if (cached) return cached;
  try {
    cached = parseEnv(process.env);
    return cached;
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    process.stderr.write(`${error.message}\nSee the configuration table in README.md.\n`);
    process.exit(78); // EX_CONFIG
  }
}

/** For tests that change process.env between cases. */
export function resetEnvCache(): void {
  cached = undefined;
}
