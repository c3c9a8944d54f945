/**
 * How many `upload.initiate` and `upload.confirm` requests per second does the API answer, next to a bare Hono
 * route and a no-op tRPC procedure on the same server (goal: report the ratios; find and remove the largest
 * per-request cost)?
 *   npx tsx bench/api.ts [--rounds 5] [--connections 10] [--duration 5] [--confirmable 3000] [--profile DIR]
 *
 * The server is the product's app (`createApp`, the deps main.ts builds: temp database, own Redis prefix,
 * local storage in a temp folder, LOG_LEVEL=info as in production, UV_THREADPOOL_SIZE=16 as `npm start`)
 * in its own process, started by this script with `--serve`; only the bench server adds the baselines:
 *   Hono route, bare            POST /bench/bare on an outer Hono app in front of the product's (no middleware)
 *   Hono route + app middleware GET /healthz of the product (request id, metrics, log line, headers, CORS)
 *   tRPC no-op                  a public no-op mutation behind the same middleware, own tRPC router
 *   tRPC no-op + API key        the same through the product's `authedProcedure` (Bearer key lookup)
 *   upload.initiate             a 1 KiB text/plain file (the per-user rate limit and pending quota raised so
 *                               the bench measures the work, not the refusal)
 *   upload.confirm              of a prepared single-PUT asset whose 1 KiB object is stored (each request a
 *                               different asset: the full confirm — seal move, checks, UPDATE, event, queue)
 * Load: autocannon in this process, `--connections` keep-alive connections for `--duration` seconds per
 * variant (autocannon's own clock ticks per second, so a fixed request count would be timed to the next
 * whole second), every answer must be 2xx; `--confirmable` assets are prepared for each confirm variant. Client and server share the 2 cores, as they
 * would not in production: absolute rates are pessimistic, the ratios are the result. Pending assets and
 * stored objects are reset before each variant (not timed). Cleans up its database, Redis keys, folders.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import {
  BENCH_DATABASE_URL,
  BENCH_REDIS_URL,
  freePort,
  machine,
  median,
  runRounds,
  serviceEnv,
  startServerProcess,
  table,
  type Variant,
} from "./lib.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    connections: { type: "string", default: "10" },
    duration: { type: "string", default: "5" },
    confirmable: { type: "string", default: "3000" },
    profile: { type: "string" },
    serve: { type: "boolean", default: false },
  },
});
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---- the bench server (child process) --------------------------------------------------------------------

async function serve(): Promise<void> {
  const { getDb } = await import("@airlock/shared/db");
  const { getEnv } = await import("@airlock/shared/env");
  const { createLogger } = await import("@airlock/shared/logger");
  const { createMetrics } = await import("@airlock/shared/metrics");
  const { createQueues } = await import("@airlock/shared/queue-client");
  const { createRedis } = await import("@airlock/shared/redis");
  const { createScanner } = await import("@airlock/shared/scanner");
  const { createStorage } = await import("@airlock/shared/storage");
  const { serve: listen } = await import("@hono/node-server");
  const { fetchRequestHandler } = await import("@trpc/server/adapters/fetch");
  const { Hono } = await import("hono");
  const { createApp } = await import("../apps/api/src/app.ts");
  const { authedProcedure, createTRPCRouter, publicProcedure } = await import("../apps/api/src/trpc.ts");

  // As main.ts builds them.
  const env = getEnv();
  const log = createLogger({ name: "api", level: env.LOG_LEVEL });
  const db = getDb();
  const redis = createRedis(env.REDIS_URL, { maxRetriesPerRequest: 2 });
  const storage = createStorage(env);
  const queues = createQueues(redis, env.REDIS_PREFIX);
  const scanner = createScanner(env);
  const deps = { env, db, redis, log, storage, queues, scanner, metrics: createMetrics("api", { db, queues }) };
  const app = createApp(deps);

  // Bench-only baselines, never in the product's router.
  const benchRouter = createTRPCRouter({
    noop: publicProcedure.mutation(() => ({ ok: true })),
    authedNoop: authedProcedure.mutation(({ ctx }) => ({ ok: true, user: ctx.user.id })),
  });
  app.post("/bench-trpc/*", (c) =>
    fetchRequestHandler({
      endpoint: "/bench-trpc",
      req: c.req.raw,
      router: benchRouter,
      createContext: () => ({ ...deps, requestId: c.get("requestId"), authorization: c.req.header("authorization"), user: null }),
    }),
  );
  const outer = new Hono();
  outer.post("/bench/bare", (c) => c.json({ ok: true }));
  outer.route("/", app);
  listen({ fetch: outer.fetch, hostname: env.HOST, port: env.PORT });
  process.on("SIGTERM", () => {
    void Promise.allSettled([db.$disconnect(), redis.quit()]).then(() => process.exit(0));
  });
}

// ---- the client -------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { createTempDatabase } = await import("@airlock/db/testing");
  const { createRedis, deleteKeysWithPrefix } = await import("@airlock/shared/redis");
  const { createPrismaClient } = await import("@airlock/db");
  const { createApiKey } = await import("../apps/api/src/services/api-keys.ts");
  const { createUser } = await import("../apps/api/src/services/users.ts");
  const pg = (await import("pg")).default;

  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const duration = Number(values.duration);
  const confirmable = Number(values.confirmable);
  const work = join(tmpdir(), `airlock-bench-api-${process.pid}`);
  const dataDir = join(work, "data");
  const prefix = `airlock-bench-api-${randomBytes(4).toString("hex")}`;
  const database = await createTempDatabase(BENCH_DATABASE_URL, { label: "bench_api" });
  const cleanups: Array<() => Promise<void>> = [
    () => database.drop(),
    () => rm(work, { recursive: true, force: true }),
    async () => {
      const redis = createRedis(BENCH_REDIS_URL, { maxRetriesPerRequest: 2 });
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
    },
  ];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((error: unknown) => log(`cleanup: ${String(error)}`));
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  const startedAt = machine();
  try {
    const db = createPrismaClient(database.url, { max: 2 });
    const user = await createUser(db, { email: "bench@airlock.local", role: "USER" });
    const { key } = await createApiKey(db, user.id, "bench");
    await db.$disconnect();
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    cleanups.push(() => sql.end());

    const port = await freePort();
    const self = new URL(import.meta.url).pathname;
    const server = await startServerProcess(
      [...(values.profile ? ["--cpu-prof", "--cpu-prof-dir", join(values.profile, "api")] : []), "--import", "tsx", self, "--serve"],
      {
        port,
        readyPath: "/healthz",
        env: {
          ...serviceEnv({ databaseUrl: database.url, prefix, dataDir, secret: randomBytes(32).toString("hex"), scanner: "mock" }),
          LOG_LEVEL: "info",
          PORT: String(port),
          PUBLIC_URL: `http://127.0.0.1:${port}`,
          UPLOAD_RATE_LIMIT_PER_MINUTE: "1000000000",
          UPLOAD_MAX_PENDING_PER_USER: "1000000000",
        },
      },
    );
    cleanups.push(() => server.stop());

    const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const text = Buffer.alloc(1024, "airlock bench note\n");
    /** Pending single-PUT assets with their 1 KiB object in place, ready to confirm. */
    let ready: string[] = [];
    async function reset(confirmable: number): Promise<void> {
      await sql.query(`DELETE FROM "UploadEvent"; DELETE FROM "Asset";`);
      // A confirm still in flight when the previous variant's time ran out may be making its folder.
      await rm(join(dataDir, "objects"), { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
      if (confirmable === 0) return;
      const { rows } = await sql.query<{ id: string; key: string }>(
        `INSERT INTO "Asset" (id, "ownerId", "originalName", "safeName", "storageKey", "declaredMime", "declaredSize", "updatedAt")
         SELECT g.id, $1::uuid, 'note.txt', 'note.txt', 'uploads/' || $1::text || '/' || g.id || '/note.txt', 'text/plain', 1024, now()
         FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $2)) g
         RETURNING id, "storageKey" AS key`,
        [user.id, confirmable],
      );
      for (const row of rows) {
        const path = join(dataDir, "objects", ...row.key.split("/"));
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, text);
      }
      ready = rows.map((r) => r.id);
    }

    interface Load {
      name: string;
      request: autocannon.Request;
      confirmable?: number;
    }
    const loads: Load[] = [
      { name: "Hono route, bare", request: { method: "POST", path: "/bench/bare" } },
      { name: "Hono route + app middleware", request: { method: "GET", path: "/healthz" } },
      { name: "tRPC no-op", request: { method: "POST", path: "/bench-trpc/noop", headers: auth } },
      { name: "tRPC no-op + API key", request: { method: "POST", path: "/bench-trpc/authedNoop", headers: auth } },
      {
        name: "upload.initiate",

        request: {
          method: "POST",
          path: "/trpc/upload.initiate",
          headers: auth,
          body: JSON.stringify({ filename: "note.txt", mimeType: "text/plain", size: 1024 }),
        },
      },
      {
        name: "upload.confirm",
        confirmable,
        request: {
          method: "POST",
          path: "/trpc/upload.confirm",
          headers: auth,
          setupRequest: (request) => ({ ...request, body: JSON.stringify({ assetId: ready.pop() }) }),
        },
      },
    ];

    const latencies = new Map<string, { p50: number[]; p99: number[] }>();
    const runLoad = async (load: Load, seconds = duration): Promise<number> => {
      const result = await autocannon({ url: server.url, connections, duration: seconds, requests: [load.request] });
      const bad = result.non2xx + result.errors + result.timeouts;
      if (bad > 0) throw new Error(`${load.name}: ${bad} of ${result.requests.total} answers not 2xx or failed`);
      if (load.confirmable && ready.length === 0) throw new Error(`${load.name}: ran out of prepared assets; raise --confirmable`);
      const entry = latencies.get(load.name) ?? { p50: [], p99: [] };
      entry.p50.push(result.latency.p50);
      entry.p99.push(result.latency.p99);
      latencies.set(load.name, entry);
      return result.requests.total;
    };

    // Warm-up (not timed): JIT, connection pools, and a check that every variant answers 2xx.
    for (const load of loads) {
      await reset(load.confirmable ?? 0);
      await runLoad(load, 1);
    }
    latencies.clear();

    const variants: Variant[] = loads.map((load) => ({
      name: load.name,
      setup: () => reset(load.confirmable ?? 0),
      run: () => runLoad(load),
    }));
    const results = await runRounds(variants, rounds, log);
    const { rows } = await sql.query<{ status: string; count: string }>(`SELECT status, count(*) FROM "Asset" GROUP BY status`);
    log(`assets after the last variant: ${rows.map((r) => `${r.status} ${r.count}`).join(", ")}`);

    console.log(
      `\n## API requests/s — autocannon, ${connections} connections — ${startedAt}; at the end: ${machine().split(", ").pop()}\n`,
    );
    console.log(table(results, "Hono route, bare", "req", { ratio: "rate", also: ["tRPC no-op"] }));
    console.log("\n| variant | latency p50 ms (median of rounds) | latency p99 ms (median of rounds) |\n|---|---|---|");
    for (const load of loads) {
      const entry = latencies.get(load.name);
      if (entry) console.log(`| ${load.name} | ${median(entry.p50).toFixed(1)} | ${median(entry.p99).toFixed(1)} |`);
    }
    console.log(
      `\nReproduce: npx tsx bench/api.ts --rounds ${rounds} --connections ${connections} --duration ${duration} --confirmable ${confirmable}`,
    );
  } finally {
    await cleanup();
  }
}

if (values.serve) await serve();
else await main();
