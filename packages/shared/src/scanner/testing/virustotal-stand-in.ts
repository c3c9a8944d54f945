import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EICAR } from "../mock.ts";

/**
 * A local stand-in for the VirusTotal v3 API (https://docs.virustotal.com/reference/overview), speaking
 * the documented shapes of the calls Airlock makes:
 *
 *   GET  /api/v3/files/{sha256}      200 file object (last_analysis_stats/results) | 404 NotFoundError
 *   POST /api/v3/files               multipart "file" (≤ 32 MB) → { data: { type: "analysis", id } }
 *   GET  /api/v3/files/upload_url    { data: "<url>" } for one larger upload (POST, same multipart)
 *   GET  /api/v3/analyses/{id}       status "queued" for the first `queuedPolls` polls, then "completed"
 *
 * Every call needs `x-apikey` (401 WrongCredentialsError otherwise); more than `requestsPerMinute` calls
 * in a sliding minute get 429 QuotaExceededError, as the public API does. A completed analysis makes the
 * file known to later lookups. Bodies are buffered here: it is a test double, not a streaming server.
 */
export interface VirusTotalStandInOptions {
  /** The accepted key. Default "stand-in-key". */
  apiKey?: string;
  /** Files VT already knows, by sha256: threat names (one per detecting engine), empty = clean. */
  known?: Record<string, string[]>;
  /** Content markers that make an uploaded file malicious. Default: EICAR, reported by 3 engines. */
  markers?: Array<{ marker: string | Buffer; threat: string; engines: number }>;
  /** "queued" answers before an analysis completes. Default 2. */
  queuedPolls?: number;
  /** Calls accepted per sliding minute before 429. Default unlimited. */
  requestsPerMinute?: number;
  /** Largest body POST /files accepts (VT: 32 MB); larger ones need upload_url. */
  directUploadMaxBytes?: number;
}

export interface StandInRequest {
  method: string;
  path: string;
  status: number;
  apiKey: string | undefined;
  contentLength: string | undefined;
  transferEncoding: string | undefined;
  bodyBytes: number;
}

export interface VirusTotalStandIn {
  /** Base URL to give the client, e.g. http://127.0.0.1:PORT/api/v3 */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Every request, in arrival order. */
  readonly requests: StandInRequest[];
  /** Analyses created by uploads, by id. */
  readonly analyses: Map<string, { sha256: string; size: number; polls: number; filename: string | undefined }>;
  /** Adds a known file (threat names, one per detecting engine; empty = clean). */
  addKnown(sha256: string, threats: string[]): void;
  /** The next `count` requests get `status` (e.g. 500, 503) before any other handling. */
  failNext(status: number, count?: number): void;
  close(): Promise<void>;
}

const ENGINES = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"];

interface EngineResult {
  category: "malicious" | "undetected";
  engine_name: string;
  engine_version: string;
  engine_update: string;
  method: string;
  result: string | null;
}

function engineResults(threats: string[]): Record<string, EngineResult> {
  return Object.fromEntries(
    ENGINES.map((engine, i) => {
      const threat = threats[i];
      return [
        engine,
        {
          category: threat ? "malicious" : "undetected",
          engine_name: engine,
          engine_version: "1.0",
          engine_update: "20250101",
          method: "blacklist",
          result: threat ?? null,
        },
      ];
    }),
  );
}

function stats(threats: string[]) {
  const malicious = Math.min(threats.length, ENGINES.length);
  return {
    malicious,
    suspicious: 0,
    undetected: ENGINES.length - malicious,
    harmless: 0,
    timeout: 0,
    "confirmed-timeout": 0,
    failure: 0,
    "type-unsupported": 0,
  };
}

export async function startVirusTotalStandIn(options: VirusTotalStandInOptions = {}): Promise<VirusTotalStandIn> {
  const apiKey = options.apiKey ?? "stand-in-key";
  const queuedPolls = options.queuedPolls ?? 2;
  const perMinute = options.requestsPerMinute ?? Number.POSITIVE_INFINITY;
  const directMax = options.directUploadMaxBytes ?? 32 * 1024 * 1024;
  const markers = (options.markers ?? [{ marker: EICAR, threat: "EICAR-Test-File", engines: 3 }]).map((m) => ({
    ...m,
    bytes: typeof m.marker === "string" ? Buffer.from(m.marker, "latin1") : m.marker,
  }));
  const known = new Map<string, { threats: string[]; size: number; date: number }>(
    Object.entries(options.known ?? {}).map(([sha, threats]) => [sha.toLowerCase(), { threats, size: 0, date: 1_700_000_000 }]),
  );
  const analyses = new Map<string, { sha256: string; size: number; polls: number; threats: string[]; filename: string | undefined }>();
  const uploadTokens = new Set<string>();
  const requests: StandInRequest[] = [];
  const recent: number[] = [];
  const failures: number[] = [];
  let origin = "";

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const vtError = (res: ServerResponse, status: number, code: string, message: string) => send(res, status, { error: { code, message } });

  const fileObject = (sha256: string, entry: { threats: string[]; size: number; date: number }) => ({
    data: {
      type: "file",
      id: sha256,
      links: { self: `${origin}/api/v3/files/${sha256}` },
      attributes: {
        sha256,
        size: entry.size,
        last_analysis_date: entry.date,
        last_analysis_stats: stats(entry.threats),
        last_analysis_results: engineResults(entry.threats),
      },
    },
  });

  /** Stores the uploaded file of a multipart body; returns the analysis id, or an error message. */
  const acceptUpload = (req: IncomingMessage, body: Buffer): string | { error: string } => {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(req.headers["content-type"] ?? "");
    const marker = boundary?.[1] ?? boundary?.[2];
    if (!marker) return { error: "expected multipart/form-data with a boundary" };
    const delimiter = Buffer.from(`--${marker}`);
    let at = body.indexOf(delimiter);
    while (at >= 0) {
      const headerEnd = body.indexOf("\r\n\r\n", at);
      if (headerEnd < 0) break;
      const headers = body.subarray(at + delimiter.length, headerEnd).toString("utf8");
      const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headerEnd + 4);
      if (next < 0) break;
      if (/name="file"/.test(headers)) {
        const content = body.subarray(headerEnd + 4, next);
        const sha256 = createHash("sha256").update(content).digest("hex");
        const threats = markers.filter((m) => content.includes(m.bytes)).flatMap((m) => Array<string>(m.engines).fill(m.threat));
        const md5 = createHash("md5").update(content).digest("hex");
        // Real analysis ids are base64 of "<md5>:<unix time>", so they contain "=" and need URL-encoding.
        const id = Buffer.from(`${md5}:${Date.now()}${randomBytes(2).toString("hex")}`).toString("base64");
        const filename = /filename="([^"]*)"/.exec(headers)?.[1];
        analyses.set(id, { sha256, size: content.length, polls: 0, threats, filename });
        return id;
      }
      at = next + 2;
    }
    return { error: 'no form field named "file"' };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const url = new URL(req.url ?? "/", origin);
    const path = url.pathname;
    const failure = failures.shift();
    if (failure !== undefined) return vtError(res, failure, failure >= 500 ? "TransientError" : "InjectedError", "injected failure");
    if (req.headers["x-apikey"] !== apiKey) return vtError(res, 401, "WrongCredentialsError", "Wrong API key");
    const now = Date.now();
    while (recent.length && (recent[0] ?? 0) <= now - 60_000) recent.shift();
    if (recent.length >= perMinute) return vtError(res, 429, "QuotaExceededError", "Quota exceeded");
    recent.push(now);

    if (req.method === "GET" && path === "/api/v3/files/upload_url") {
      const token = randomBytes(12).toString("hex");
      uploadTokens.add(token);
      return send(res, 200, { data: `${origin}/_ah/upload/${token}/` });
    }
    const file = /^\/api\/v3\/files\/([^/]+)$/.exec(path);
    if (req.method === "GET" && file?.[1]) {
      const sha256 = decodeURIComponent(file[1]).toLowerCase();
      const entry = known.get(sha256);
      if (!entry) return vtError(res, 404, "NotFoundError", `File "${sha256}" not found`);
      return send(res, 200, fileObject(sha256, entry));
    }
    const upload = /^\/_ah\/upload\/([0-9a-f]+)\/$/.exec(path);
    if (req.method === "POST" && (path === "/api/v3/files" || upload?.[1])) {
      if (upload?.[1]) {
        if (!uploadTokens.delete(upload[1])) return vtError(res, 400, "BadRequestError", "upload URL unknown or already used");
      } else if (body.length > directMax) {
        return vtError(res, 413, "RequestEntityTooLargeError", "use /files/upload_url for files larger than 32 MB");
      }
      const id = acceptUpload(req, body);
      if (typeof id !== "string") return vtError(res, 400, "BadRequestError", id.error);
      return send(res, 200, { data: { type: "analysis", id, links: { self: `${origin}/api/v3/analyses/${encodeURIComponent(id)}` } } });
    }
    const analysis = /^\/api\/v3\/analyses\/([^/]+)$/.exec(path);
    if (req.method === "GET" && analysis?.[1]) {
      const id = decodeURIComponent(analysis[1]);
      const entry = analyses.get(id);
      if (!entry) return vtError(res, 404, "NotFoundError", `Analysis "${id}" not found`);
      entry.polls++;
      const completed = entry.polls > queuedPolls;
      const date = Math.floor(now / 1000);
      if (completed) known.set(entry.sha256, { threats: entry.threats, size: entry.size, date });
      return send(res, 200, {
        data: {
          type: "analysis",
          id,
          attributes: {
            date,
            status: completed ? "completed" : "queued",
            stats: completed ? stats(entry.threats) : stats([]),
            results: completed ? engineResults(entry.threats) : {},
          },
        },
        meta: { file_info: { sha256: entry.sha256, size: entry.size } },
      });
    }
    return vtError(res, 404, "NotFoundError", `no route for ${req.method} ${path}`);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      res.on("finish", () =>
        requests.push({
          method: req.method ?? "",
          path: new URL(req.url ?? "/", origin).pathname,
          status: res.statusCode,
          apiKey: req.headers["x-apikey"] as string | undefined,
          contentLength: req.headers["content-length"],
          transferEncoding: req.headers["transfer-encoding"],
          bodyBytes: body.length,
        }),
      );
      handle(req, res, body).catch((error: unknown) => vtError(res, 500, "InternalError", String(error)));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl: `${origin}/api/v3`,
    apiKey,
    requests,
    analyses,
    addKnown(sha256, threats) {
      known.set(sha256.toLowerCase(), { threats, size: 0, date: 1_700_000_000 });
    },
    failNext(status, count = 1) {
      for (let i = 0; i < count; i++) failures.push(status);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
