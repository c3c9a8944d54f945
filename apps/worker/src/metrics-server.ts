import { timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { Env } from "@airlock/shared/env";
import type { Metrics } from "@airlock/shared/metrics";

/**
 * The worker's own small HTTP surface: /metrics for Prometheus and /healthz for the orchestrator.
 * With METRICS_TOKEN set, /metrics needs it as a Bearer token; otherwise keep HOST on a private address.
 */
export function startMetricsServer(env: Env, metrics: Metrics): Promise<Server> {
  const server = createServer(async (req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
      return;
    }
    if (req.url !== "/metrics" || req.method !== "GET") {
      res.writeHead(404).end();
      return;
    }
    if (env.METRICS_TOKEN && !tokenMatches(req.headers.authorization, env.METRICS_TOKEN)) {
      res
        .writeHead(401, { "content-type": "application/json" })
        .end('{"error":{"code":"UNAUTHORIZED","message":"send METRICS_TOKEN as a Bearer token"}}');
      return;
    }
    try {
      const body = await metrics.registry.metrics();
      res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body);
    } catch (error) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`metrics unavailable: ${(error as Error).message}`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(env.WORKER_METRICS_PORT, env.HOST, () => resolve(server));
  });
}

function tokenMatches(header: string | undefined, expected: string): boolean {
  const token = /^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1] ?? "";
  return token.length === expected.length && timingSafeEqual(Buffer.from(token), Buffer.from(expected));
}
