import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { TokenBucket } from "./token-bucket.ts";
import type { ScanMeta, ScanVerdict, VirusScanner } from "./types.ts";

export interface VirusTotalOptions {
  apiKey: string;
  /** The v3 API root, e.g. https://www.virustotal.com/api/v3 */
  baseUrl: string;
  /** Engines that must say "malicious" for the file to be infected. Default 1. */
  maliciousThreshold?: number;
  /** Requests per minute across this instance (public API: 4). Default 4; at least 2 (a large upload is 2 calls). */
  requestsPerMinute?: number;
  fetch?: typeof fetch;
  /** When to ask again about a queued analysis. Default 30 s (analyses take about a minute). */
  pollIntervalMs?: number;
  /** Largest file sent straight to POST /files; larger ones go through /files/upload_url. Default 32 MB. */
  directUploadMaxBytes?: number;
  /** Largest file VirusTotal accepts at all (650 MB); larger unknown files are `unscannable`. */
  maxUploadBytes?: number;
  /** Limit of one non-upload request. Default 30 s. */
  requestTimeoutMs?: number;
  /** Limit of one upload. Default 10 min. */
  uploadTimeoutMs?: number;
  /** Where files without a sha256 are spooled. Default os.tmpdir(). */
  tmpDir?: string;
  /** Clock of the rate limiter (tests). */
  now?: () => number;
}

const ENGINE = "virustotal";
const VERSION = "VirusTotal v3";
const MB = 1024 * 1024;
/** Prefix of refs for scans that were rate-limited before the file could be uploaded (see `pending`). */
const RESCAN = "rescan:";
const SHA256 = /^[0-9a-f]{64}$/;

const ZStats = z.object({
  malicious: z.number().int().nonnegative(),
  suspicious: z.number().int().nonnegative().default(0),
  undetected: z.number().int().nonnegative().default(0),
  harmless: z.number().int().nonnegative().default(0),
});
const ZResults = z.record(z.string(), z.object({ category: z.string(), result: z.string().nullish() }));
const ZFile = z.object({
  data: z.object({
    attributes: z.object({
      last_analysis_stats: ZStats.optional(),
      last_analysis_results: ZResults.optional(),
      last_analysis_date: z.number().optional(),
    }),
  }),
});
const ZAnalysis = z.object({
  data: z.object({
    attributes: z.object({
      status: z.string(),
      stats: ZStats.optional(),
      results: ZResults.optional(),
      date: z.number().optional(),
    }),
  }),
});
const ZUploaded = z.object({ data: z.object({ id: z.string().min(1) }) });
const ZUploadUrl = z.object({ data: z.string().min(1) });
const ZError = z.object({ error: z.object({ code: z.string() }) });

/** A non-2xx answer, or a 2xx one we cannot read. */
class VirusTotalHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "VirusTotalHttpError";
  }
}

/**
 * VirusTotal v3 (https://docs.virustotal.com/reference/overview): hash lookup first (`GET /files/{sha256}`),
 * upload only when VirusTotal does not know the file, then the analysis is polled (`pending` → `poll`).
 *
 * - sha256: the lookup trusts `meta.sha256`, so it must be computed by the server from the stored bytes,
 *   never the client's declared value (otherwise a client could name a clean file's hash and upload
 *   anything). Without it, the stream is spooled to a private temp directory while hashing (the lookup
 *   needs the hash before the upload needs the bytes), and removed afterwards whatever happens.
 * - Rate limit: one token bucket per instance. A call never sleeps for a token: it answers `pending` with
 *   `retryAfterMs` = the wait, and the job is rescheduled. If that happens before the file could be
 *   uploaded, poll() has no bytes to send: the verdict says `raw.resume: "scan"` (the worker should call
 *   scan() again with a fresh stream) and its ref starts with "rescan:"; poll() on such a ref still tries
 *   the lookup and otherwise returns a retryable error, so a worker that only polls ends up rescanning.
 * - Uploading shares the file with VirusTotal and its partners; the form carries a neutral file name
 *   ("upload" + extension), never the user's name.
 */
export class VirusTotalScanner implements VirusScanner {
  readonly name = ENGINE;
  readonly #apiKey: string;
  readonly #baseUrl: string;
  readonly #threshold: number;
  readonly #fetch: typeof fetch;
  readonly #bucket: TokenBucket;
  readonly #pollIntervalMs: number;
  readonly #directMax: number;
  readonly #uploadMax: number;
  readonly #requestTimeoutMs: number;
  readonly #uploadTimeoutMs: number;
  readonly #tmpDir: string;
  /** Set by a 401/403, cleared by any accepted call: health() reports it without spending quota. */
  #authFailure: string | undefined;

  constructor(options: VirusTotalOptions) {
    if (!options.apiKey) throw new Error("VirusTotalScanner needs an API key (VIRUSTOTAL_API_KEY)");
    const perMinute = options.requestsPerMinute ?? 4;
    if (!(perMinute >= 2)) throw new RangeError("requestsPerMinute must be at least 2 (a large upload takes two calls)");
    this.#apiKey = options.apiKey;
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#threshold = options.maliciousThreshold ?? 1;
    if (!(this.#threshold >= 1)) throw new RangeError("maliciousThreshold must be at least 1");
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#bucket = new TokenBucket({ capacity: perMinute, periodMs: 60_000, now: options.now });
    this.#pollIntervalMs = options.pollIntervalMs ?? 30_000;
    this.#directMax = options.directUploadMaxBytes ?? 32 * MB;
    this.#uploadMax = options.maxUploadBytes ?? 650 * MB;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#uploadTimeoutMs = options.uploadTimeoutMs ?? 10 * 60_000;
    this.#tmpDir = options.tmpDir ?? tmpdir();
  }

  async scan(stream: Readable, meta: ScanMeta): Promise<ScanVerdict> {
    const declared = meta.sha256?.toLowerCase();
    let sha256 = declared && SHA256.test(declared) ? declared : undefined;
    // Check for a token before reading anything: without one there is nothing to do yet.
    const wait = this.#bucket.tryTake(1);
    if (wait > 0) {
      stream.destroy();
      return this.#rescanLater(sha256, wait);
    }
    let spoolDir: string | undefined;
    let spooled: { path: string; size: number } | undefined;
    try {
      if (!sha256) {
        try {
          if (meta.size > this.#uploadMax) {
            // Too large to upload anyway: hash for the lookup without keeping a copy.
            sha256 = await hashOnly(stream);
          } else {
            spoolDir = await mkdtemp(join(this.#tmpDir, "airlock-vt-"));
            const result = await spool(stream, join(spoolDir, "file"));
            sha256 = result.sha256;
            spooled = { path: join(spoolDir, "file"), size: result.size };
          }
        } catch (error) {
          this.#bucket.giveBack(1);
          return failure(`source stream failed: ${messageOf(error)}`, true);
        }
      }

      const known = await this.#lookup(sha256);
      if (known) return known;

      const size = spooled?.size ?? meta.size;
      if (size > this.#uploadMax) {
        return {
          kind: "unscannable",
          engine: ENGINE,
          reason: `unknown to VirusTotal and larger than its upload limit (${this.#uploadMax} bytes)`,
        };
      }
      const large = size > this.#directMax;
      const uploadWait = this.#bucket.tryTake(large ? 2 : 1);
      if (uploadWait > 0) return this.#rescanLater(sha256, uploadWait);
      let target = `${this.#baseUrl}/files`;
      if (large) {
        try {
          target = await this.#uploadUrl();
        } catch (error) {
          this.#bucket.giveBack(1);
          throw error;
        }
      }
      const body = spooled ? createReadStream(spooled.path) : stream;
      const analysisId = await this.#upload(target, body, size, meta.filename);
      return {
        kind: "pending",
        engine: ENGINE,
        ref: analysisId,
        retryAfterMs: this.#pollIntervalMs,
        raw: { resume: "poll", stage: "analysis", sha256, uploaded: large ? "upload_url" : "files" },
      };
    } catch (error) {
      return this.#failureFrom(error);
    } finally {
      if (!stream.readableEnded) stream.destroy();
      if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
    }
  }

  async poll(ref: string, _meta: ScanMeta): Promise<ScanVerdict> {
    const wait = this.#bucket.tryTake(1);
    if (wait > 0) {
      return {
        kind: "pending",
        engine: ENGINE,
        ref,
        retryAfterMs: wait,
        raw: { resume: ref.startsWith(RESCAN) ? "scan" : "poll", rateLimited: true },
      };
    }
    try {
      if (ref.startsWith(RESCAN)) {
        const sha256 = ref.slice(RESCAN.length);
        if (SHA256.test(sha256)) {
          const known = await this.#lookup(sha256);
          if (known) return known;
        } else {
          this.#bucket.giveBack(1);
        }
        return failure("VirusTotal does not know this file and poll() has no bytes to upload: scan it again", true);
      }
      const json = await this.#request("GET", `${this.#baseUrl}/analyses/${encodeURIComponent(ref)}`);
      const parsed = ZAnalysis.safeParse(json);
      if (!parsed.success) return failure(`unreadable analysis from VirusTotal: ${parsed.error.message}`, true);
      const { status, stats, results, date } = parsed.data.data.attributes;
      if (status === "queued" || status === "in-progress") {
        return { kind: "pending", engine: ENGINE, ref, retryAfterMs: this.#pollIntervalMs, raw: { resume: "poll", status } };
      }
      if (status !== "completed") return failure(`unexpected analysis status from VirusTotal: ${JSON.stringify(status)}`, true);
      const verdict = this.#verdictFrom(stats, results, date, { source: "analysis", analysisId: ref });
      return verdict ?? failure("the VirusTotal analysis completed without any engine result", true);
    } catch (error) {
      return this.#failureFrom(error);
    }
  }

  /** Constant: VirusTotal has no single signature version; verdicts carry their analysis date instead. */
  async version(): Promise<string> {
    return VERSION;
  }

  /**
   * Does not call the API: with 4 requests a minute, a readiness probe must not spend the scans' quota.
   * Unhealthy after VirusTotal rejected the key, until a call succeeds again.
   */
  async health(): Promise<void> {
    if (this.#authFailure) throw new Error(`VirusTotal rejected the API key: ${this.#authFailure}`);
  }

  /** The file's last analysis, or undefined when VirusTotal does not know it (or knows it without results). */
  async #lookup(sha256: string): Promise<ScanVerdict | undefined> {
    let json: unknown;
    try {
      json = await this.#request("GET", `${this.#baseUrl}/files/${sha256}`);
    } catch (error) {
      if (error instanceof VirusTotalHttpError && error.status === 404) return undefined;
      throw error;
    }
    const parsed = ZFile.safeParse(json);
    if (!parsed.success)
      throw new VirusTotalHttpError(200, "Unreadable", `unreadable file report from VirusTotal: ${parsed.error.message}`);
    const { last_analysis_stats, last_analysis_results, last_analysis_date } = parsed.data.data.attributes;
    // Known but never analysed (or no engine answered): upload, which starts a fresh analysis.
    return this.#verdictFrom(last_analysis_stats, last_analysis_results, last_analysis_date, { source: "lookup", sha256 });
  }

  #verdictFrom(
    stats: z.infer<typeof ZStats> | undefined,
    results: z.infer<typeof ZResults> | undefined,
    date: number | undefined,
    context: Record<string, unknown>,
  ): ScanVerdict | undefined {
    if (!stats) return undefined;
    const answered = stats.malicious + stats.suspicious + stats.undetected + stats.harmless;
    if (answered === 0) return undefined;
    const detections: Record<string, string> = {};
    for (const [engine, result] of Object.entries(results ?? {})) {
      if (result.category === "malicious" || result.category === "suspicious") detections[engine] = result.result ?? result.category;
    }
    const threats = [
      ...new Set(
        Object.entries(results ?? {})
          .filter(([, r]) => r.category === "malicious")
          .map(([engine, r]) => r.result ?? `${engine}.Malicious`),
      ),
    ].sort();
    const signatureVersion = date ? `${VERSION}/${new Date(date * 1000).toISOString()}` : VERSION;
    // Compact on purpose: the raw report of ~70 engines would bloat ScanResult rows and job refs.
    const raw = { ...context, stats, detections };
    if (stats.malicious >= this.#threshold) {
      return { kind: "infected", engine: ENGINE, threats: threats.length ? threats : ["VirusTotal.Malicious"], signatureVersion, raw };
    }
    return { kind: "clean", engine: ENGINE, signatureVersion, raw };
  }

  async #uploadUrl(): Promise<string> {
    const parsed = ZUploadUrl.safeParse(await this.#request("GET", `${this.#baseUrl}/files/upload_url`));
    if (!parsed.success) throw new VirusTotalHttpError(200, "Unreadable", "unreadable upload_url answer from VirusTotal");
    const url = parsed.data.data;
    // The API key goes along with the upload: only ever to VirusTotal's own origin.
    if (!URL.canParse(url) || new URL(url).origin !== new URL(this.#baseUrl).origin) {
      throw new VirusTotalHttpError(200, "ForeignUploadUrl", `refusing to send the API key to an upload URL on another origin: ${url}`);
    }
    return url;
  }

  /** Streams a multipart/form-data body (one "file" field) without buffering it; returns the analysis id. */
  async #upload(url: string, file: Readable, size: number, filename: string): Promise<string> {
    const boundary = `airlock-${randomBytes(16).toString("hex")}`;
    const extension = extname(filename)
      .toLowerCase()
      .replace(/[^.a-z0-9]/g, "")
      .slice(0, 16);
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload${extension}"\r\n` +
        "Content-Type: application/octet-stream\r\n\r\n",
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    async function* body(): AsyncGenerator<Uint8Array> {
      yield head;
      for await (const chunk of file) yield typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      yield tail;
    }
    const json = await this.#request("POST", url, {
      body: body(),
      headers: {
        "content-type": `multipart/form-data; boundary=${boundary}`,
        // Known exactly (spooled file, or the size the server verified): a stream that delivers a different
        // number of bytes fails the request instead of uploading something else.
        "content-length": String(head.length + size + tail.length),
      },
      timeoutMs: this.#uploadTimeoutMs,
    });
    const parsed = ZUploaded.safeParse(json);
    if (!parsed.success) throw new VirusTotalHttpError(200, "Unreadable", "unreadable upload answer from VirusTotal");
    return parsed.data.data.id;
  }

  async #request(
    method: "GET" | "POST",
    url: string,
    options: { body?: AsyncIterable<Uint8Array>; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<unknown> {
    const response = await this.#fetch(url, {
      method,
      headers: { accept: "application/json", "x-apikey": this.#apiKey, ...options.headers },
      // Node's fetch streams an async iterable body; the DOM typings (seen when the admin SPA type-checks
      // the API's router type) only know ReadableStream, hence the cast.
      body: options.body as unknown as RequestInit["body"],
      signal: AbortSignal.timeout(options.timeoutMs ?? this.#requestTimeoutMs),
      ...(options.body ? { duplex: "half" as const } : {}),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (response.ok) {
      this.#authFailure = undefined;
      if (json === undefined)
        throw new VirusTotalHttpError(response.status, "Unreadable", `VirusTotal answered ${response.status} without JSON`);
      return json;
    }
    const code = ZError.safeParse(json).data?.error.code ?? `HTTP${response.status}`;
    if (response.status === 401 || response.status === 403) this.#authFailure = `${response.status} ${code}`;
    // VirusTotal counts differently from us (other clients on the same key, daily quotas): trust it.
    if (response.status === 429) this.#bucket.drain();
    throw new VirusTotalHttpError(
      response.status,
      code,
      `VirusTotal answered ${response.status} ${code} to ${method} ${new URL(url).pathname}`,
    );
  }

  #rescanLater(sha256: string | undefined, retryAfterMs: number): ScanVerdict {
    return { kind: "pending", engine: ENGINE, ref: `${RESCAN}${sha256 ?? ""}`, retryAfterMs, raw: { resume: "scan", rateLimited: true } };
  }

  #failureFrom(error: unknown): ScanVerdict {
    if (error instanceof VirusTotalHttpError) {
      // 401/403: the key is wrong or lacks the privilege; 400: we sent something VirusTotal will never accept.
      const permanent = error.status === 400 || error.status === 401 || error.status === 403;
      return failure(error.message, !permanent, { status: error.status, code: error.code });
    }
    return failure(`VirusTotal request failed: ${messageOf(error)}`, true);
  }
}

/** Copies the stream to `path` (mode 600) and returns its sha256 and size. */
async function spool(stream: Readable, path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(stream, tap, createWriteStream(path, { mode: 0o600, flags: "wx" }));
  return { sha256: hash.digest("hex"), size };
}

async function hashOnly(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function failure(reason: string, retryable: boolean, raw?: unknown): ScanVerdict {
  return { kind: "error", engine: ENGINE, reason, retryable, ...(raw === undefined ? {} : { raw }) };
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
