import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createPrismaClient } from "@airlock/db";
import { getDb } from "@airlock/shared/db";
import { parseEnv } from "@airlock/shared/env";
import { createLogger } from "@airlock/shared/logger";
import { createMetrics } from "@airlock/shared/metrics";
import { closeQueues, createQueues } from "@airlock/shared/queue-client";
import { createRedis } from "@airlock/shared/redis";
import { createScanner } from "@airlock/shared/scanner";
import { createStorage, S3StorageDriver } from "@airlock/shared/storage";
import { serve } from "@hono/node-server";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { createApp } from "./app.ts";
import { attachLiveEvents } from "./events/ws.ts";
import type { AppRouter } from "./root.ts";
import { applyServerTimeouts } from "./server-timeouts.ts";
import { createApiKey } from "./services/api-keys.ts";
import { createUser } from "./services/users.ts";

/**
 * A real API server on a random port, against this test run's database and Redis prefix, plus the
 * typed client an integrator would use. For integration tests only.
 */
export async function startTestServer(overrides: Record<string, string> = {}) {
  const server = serve({ fetch: () => new Response(null), port: 0, hostname: "127.0.0.1" }) as Server;
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const env = parseEnv({ ...process.env, PUBLIC_URL: url, ...overrides });
  applyServerTimeouts(server, env);
  // A database of its own only when asked (fault tests point it at a proxy); otherwise the run's shared client.
  const ownDb = overrides.DATABASE_URL ? createPrismaClient(env.DATABASE_URL, { max: 4 }) : undefined;
  const db = ownDb ?? getDb();
  const redis = createRedis(env.REDIS_URL, { maxRetriesPerRequest: 2 });
  redis.on("error", () => {});
  const log = createLogger({ name: "api-test", level: env.LOG_LEVEL });
  const storage = createStorage(env);
  if (storage instanceof S3StorageDriver) await storage.ensureBucket([url]);
  const queues = createQueues(redis, env.REDIS_PREFIX);
  const scanner = createScanner(env);
  const deps = { env, db, redis, log, storage, queues, scanner, metrics: createMetrics("api", { db, queues }) };
  const app = createApp(deps);
  server.removeAllListeners("request");
  server.on("request", (await import("@hono/node-server")).getRequestListener(app.fetch));
  const live = attachLiveEvents(server, deps);

  return {
    url,
    /** tRPC over WebSocket (subscriptions): `events.*`. */
    wsUrl: `${url.replace(/^http/, "ws")}/trpc`,
    live,
    env,
    db,
    app,
    storage,
    queues,
    client(key?: string) {
      return createTRPCClient<AppRouter>({
        links: [httpBatchLink({ url: `${url}/trpc`, headers: () => (key ? { authorization: `Bearer ${key}` } : {}) })],
      });
    },
    async close() {
      await live.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeQueues(queues);
      redis.disconnect();
      await ownDb?.$disconnect();
    },
  };
}

export type TestServer = Awaited<ReturnType<typeof startTestServer>>;

/** A user with a fresh key; emails are unique per call so tests never collide. */
export async function seedUser(role: "USER" | "ADMIN" = "USER") {
  const db = getDb();
  const user = await createUser(db, { email: `${role.toLowerCase()}-${randomUUID()}@test.local`, role });
  const { key, id: keyId } = await createApiKey(db, user.id, "test");
  return { user, key, keyId };
}

/** The tRPC error a call failed with, for asserting on codes. */
export async function trpcError(promise: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCClientError) return error as TRPCClientError<AppRouter>;
    throw error;
  }
  throw new Error("expected the call to fail");
}
