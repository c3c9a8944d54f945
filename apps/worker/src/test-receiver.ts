import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

/**
 * A real HTTP webhook receiver on 127.0.0.1 for integration tests. `respond(path, n)` decides the status
 * of the n-th request (1-based) to a path; a `{ delayMs }` or `{ bodyBytes }` answer slows it down or
 * sends a large body.
 */
export async function startReceiver(
  respond: (path: string, n: number) => number | { status: number; delayMs?: number; bodyBytes?: number },
) {
  const requests: ReceivedRequest[] = [];
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      const answer = respond(path, n);
      const { status, delayMs = 0, bodyBytes = 0 } = typeof answer === "number" ? { status: answer } : answer;
      requests.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), answered: status });
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(status, { "content-type": "text/plain" });
        res.end(bodyBytes ? "x".repeat(bodyBytes) : `answer ${status}`);
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    to: (path: string) => requests.filter((r) => r.path === path),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
