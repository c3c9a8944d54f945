import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { Webhook } from "standardwebhooks";
import { assertWebhookTarget, guardedLookup } from "./target.ts";

/** How much of a response body the delivery log keeps. */
export const RESPONSE_EXCERPT_CHARS = 1024;

export interface PostResult {
  ok: boolean;
  status: number | null;
  latencyMs: number;
  excerpt: string | null;
  error: string | null;
}

/**
 * The Standard Webhooks `webhook-signature` header: one `v1,<base64>` per secret, space-separated
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md), so
 * receivers keep verifying during a secret rotation's overlap window.
 */
export function signatureHeader(secrets: string[], id: string, timestamp: Date, body: string): string {
  return secrets.map((secret) => new Webhook(secret).sign(id, timestamp, body)).join(" ");
}

/**
 * One signed POST with a timeout and a cap on how much of the response is read. Never throws: the
 * outcome (2xx = ok) goes to the delivery log.
 */
export async function postWebhook(options: {
  url: string;
  id: string;
  body: string;
  secrets: string[];
  timeoutMs: number;
  maxResponseBytes: number;
  allowPrivate: boolean;
  now?: Date;
}): Promise<PostResult> {
  const started = performance.now();
  const done = (partial: Omit<PostResult, "latencyMs">): PostResult => ({ ...partial, latencyMs: Math.round(performance.now() - started) });
  let url: URL;
  try {
    url = await assertWebhookTarget(options.url, options.allowPrivate);
  } catch (error) {
    return done({ ok: false, status: null, excerpt: null, error: (error as Error).message });
  }
  const timestamp = options.now ?? new Date();
  const headers = {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(options.body)),
    "user-agent": "Airlock-Webhooks/1",
    "webhook-id": options.id,
    "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
    "webhook-signature": signatureHeader(options.secrets, options.id, timestamp, options.body),
  };
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const finish = (result: Omit<PostResult, "latencyMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(result));
    };
    const req = request(url, { method: "POST", headers, lookup: guardedLookup(options.allowPrivate) }, (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      const status = res.statusCode ?? 0;
      const complete = () => {
        const excerpt = Buffer.concat(chunks).toString("utf8").slice(0, RESPONSE_EXCERPT_CHARS);
        finish({ ok: status >= 200 && status < 300, status, excerpt, error: status >= 200 && status < 300 ? null : `HTTP ${status}` });
      };
      res.on("data", (chunk: Buffer) => {
        const room = options.maxResponseBytes - received;
        received += chunk.length;
        if (room > 0) chunks.push(chunk.subarray(0, room));
        if (received > options.maxResponseBytes) {
          // Enough: the status is known, the rest of a huge body is not read.
          res.destroy();
          complete();
        }
      });
      res.on("end", complete);
      res.on("error", (err) => finish({ ok: false, status, excerpt: null, error: err.message }));
    });
    // One deadline for the whole exchange (connect, send, headers, body).
    const timer = setTimeout(() => {
      req.destroy();
      finish({ ok: false, status: null, excerpt: null, error: `timed out after ${options.timeoutMs} ms` });
    }, options.timeoutMs);
    req.on("error", (err) => finish({ ok: false, status: null, excerpt: null, error: err.message }));
    req.end(options.body);
  });
}
