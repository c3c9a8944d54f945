import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { applyWSSHandler } from "@trpc/server/adapters/ws";
import { WebSocketServer } from "ws";
import type { AppDeps, RequestContext } from "../context.ts";
import { appRouter } from "../root.ts";
import type { LiveContext } from "../routers/events.ts";
import { EventHub } from "./hub.ts";

/** Clients only send small JSON-RPC messages; anything bigger is refused by `ws` itself. */
const MAX_MESSAGE_BYTES = 64 * 1024;
export const WS_PATH = "/trpc";

/**
 * tRPC over WebSocket on the API's own HTTP server and port (`ws://host/trpc`), for subscriptions
 * (queries and mutations work too). Browsers cannot set headers on a WebSocket, so the API key comes
 * in tRPC's `connectionParams` (`{ apiKey }`, sent as the first message), or, for other clients, in the
 * upgrade request's Authorization header; every procedure then authenticates it exactly as over HTTP
 * (`authedProcedure`). No cookie is ever involved, so a foreign page cannot ride a user's session:
 * no Origin check is needed.
 */
export function attachLiveEvents(server: Server, deps: AppDeps) {
  const hub = new EventHub({ redisUrl: deps.env.REDIS_URL, prefix: deps.env.REDIS_PREFIX, reader: deps.redis, log: deps.log });
  hub.start().catch((err: unknown) => deps.log.warn({ err: String(err) }, "live events: could not subscribe yet"));
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });

  const handler = applyWSSHandler({
    wss,
    router: appRouter,
    keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 10_000 },
    createContext: ({ req, info }): RequestContext & LiveContext => ({
      ...deps,
      requestId: randomUUID(),
      authorization: authorizationFrom(info.connectionParams) ?? req.headers.authorization,
      user: null,
      events: hub,
    }),
    onError: ({ error, path }) => {
      if (error.code === "INTERNAL_SERVER_ERROR") deps.log.error({ path, err: error.cause ?? error }, "websocket procedure failed");
    },
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path !== WS_PATH) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  };
  server.on("upgrade", onUpgrade);

  return {
    hub,
    /** Asks clients to reconnect (to another replica), closes every socket and the Redis subscriber. */
    async close() {
      server.off("upgrade", onUpgrade);
      handler.broadcastReconnectNotification();
      const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const client of wss.clients) client.close(1001, "server shutting down");
      // A client that does not answer the closing handshake promptly is cut off.
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
      for (const client of wss.clients) client.terminate();
      await closed;
      await hub.close();
    },
  };
}

export type LiveEventsServer = ReturnType<typeof attachLiveEvents>;

/** `{ apiKey: "ak_..." }` (what the admin SPA sends) or `{ authorization: "Bearer ak_..." }`. */
function authorizationFrom(params: Record<string, string | undefined> | null): string | undefined {
  if (!params) return undefined;
  if (typeof params.apiKey === "string" && params.apiKey) return `Bearer ${params.apiKey}`;
  if (typeof params.authorization === "string" && params.authorization) return params.authorization;
  return undefined;
}
