import type { Server } from "node:http";
import type { Env } from "@airlock/shared/env";

/**
 * Timeouts of the API's HTTP server. Uploads through /storage may take as long as the bytes need, so
 * there is no overall request timeout; instead a socket silent for HTTP_IDLE_TIMEOUT_MS is closed, so a
 * client that stalls mid-PUT cannot hold its connection and temp file forever. WebSocket connections
 * are exempt (ws clears the socket timeout on upgrade and pings on its own).
 */
export function applyServerTimeouts(server: Server, env: Pick<Env, "HTTP_IDLE_TIMEOUT_MS">): void {
  server.requestTimeout = 0;
  server.headersTimeout = Math.min(30_000, env.HTTP_IDLE_TIMEOUT_MS);
  server.timeout = env.HTTP_IDLE_TIMEOUT_MS;
}
