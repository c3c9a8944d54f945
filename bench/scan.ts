/**
 * How fast does the scan pipeline turn confirmed uploads into CLEAN (goals: overhead ≤ 10 % over raw clamd
 * INSTREAM; confirm → CLEAN p95 < 1 s for 1 MiB files), and how does it scale with worker concurrency?
 *   npx tsx bench/scan.ts [--rounds 3] [--files 48] [--size-kib 1024] [--concurrency 1,2,4] [--latency-files 20] [--profile DIR]
 *
 * Real processes: the API (apps/api/src/main.ts) and the worker (apps/worker/src/main.ts, SCANNER_PROVIDER=
 * clamav, clamd on CLAMAV_HOST:CLAMAV_PORT, default 127.0.0.1:3310), a temp database, an own Redis prefix,
 * local storage in a temp folder. Variants, interleaved with the order rotated, each on a fresh corpus of
 * unique random files (clamd's and the product's verdict caches never hit), prepared untimed:
 *   raw INSTREAM ×c   this process streams each file from disk to clamd (INSTREAM, 64 KiB chunks, a new
 *                     connection per file, as the product does), c files at a time — the floor.
 *   pipeline ×c       `upload.confirm` over HTTP for every file (8 requests in flight), then wait until all
 *                     are CLEAN; a worker with SCAN_CONCURRENCY=c (restarted between variants, untimed).
 *                     Timed from the first confirm to the last CLEAN (polled every 20 ms).
 * Latency: after the rounds, `--latency-files` files confirmed one at a time (each waits for the previous
 * CLEAN) for each c: confirm request sent → `scannedAt` written by the worker (same clock).
 * --profile DIR writes the API's and each worker's CPU profiles under DIR/api/ and DIR/worker-c<c>/.
 * --compare-root DIR adds "pipeline ×c [compare-root]": the API and worker of another checkout (e.g. the commit
 *   before an optimisation: `git worktree add DIR REV && (cd DIR && npm ci && npm run db:generate)`; its own
 *   node_modules, or its workspace packages would resolve to this checkout's) in the same interleaved rounds,
 *   on the same database and files, with a Redis prefix of its own. One worker process runs at a time.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open as openFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { createPrismaClient } from "@airlock/db";
import { createTempDatabase } from "@airlock/db/testing";
import { createRedis, deleteKeysWithPrefix } from "@airlock/shared/redis";
import pg from "pg";
import { createApiKey } from "../apps/api/src/services/api-keys.ts";
import { createUser } from "../apps/api/src/services/users.ts";
import {
  BENCH_DATABASE_URL,
  BENCH_REDIS_URL,
  freePort,
  machine,
  median,
  processCpuMs,
  runRounds,
  type ServerProcess,
  serviceEnv,
  startServerProcess,
  table,
  type Variant,
} from "./lib.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    files: { type: "string", default: "48" },
    "size-kib": { type: "string", default: "1024" },
    concurrency: { type: "string", default: "1,2,4" },
    "latency-files": { type: "string", default: "20" },
    profile: { type: "string" },
    "compare-root": { type: "string" },
  },
});
const ROUNDS = Number(values.rounds);
const FILES = Number(values.files);
const SIZE = Number(values["size-kib"]) * 1024;
const LEVELS = values.concurrency.split(",").map(Number);
const LATENCY_FILES = Number(values["latency-files"]);
const CLAMD = { host: process.env.CLAMAV_HOST ?? "127.0.0.1", port: Number(process.env.CLAMAV_PORT ?? 3310) };
const log = (line: string) => process.stderr.write(`${line}\n`);
const profileArgs = (name: string) => (values.profile ? ["--cpu-prof", "--cpu-prof-dir", join(values.profile, name)] : []);

/** One INSTREAM scan of a file, the protocol the product speaks; resolves with clamd's reply. */
async function instream(path: string): Promise<string> {
  const socket = connect(CLAMD);
  const reply: Buffer[] = [];
  const done = new Promise<string>((resolve, reject) => {
    socket.on("data", (chunk: Buffer) => reply.push(chunk));
    socket.on("end", () => resolve(Buffer.concat(reply).toString("utf8").replace(/\0$/, "")));
    socket.on("error", reject);
  });
  const write = (data: Buffer) => (socket.write(data) ? Promise.resolve() : new Promise<void>((r) => socket.once("drain", () => r())));
  await write(Buffer.from("zINSTREAM\0"));
  const file = await openFile(path, "r");
  try {
    for await (const chunk of file.createReadStream({ highWaterMark: 64 * 1024 })) {
      const length = Buffer.alloc(4);
      length.writeUInt32BE((chunk as Buffer).length);
      await write(Buffer.concat([length, chunk as Buffer]));
    }
  } finally {
    await file.close();
  }
  await write(Buffer.alloc(4));
  return done;
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

const work = join(tmpdir(), `airlock-bench-scan-${process.pid}`);
const dataDir = join(work, "data");
const rawDir = join(work, "raw");
const prefix = `airlock-bench-scan-${randomBytes(4).toString("hex")}`;
/** The checkouts under test: this one, and --compare-root's (same database and files, own Redis prefix). */
interface Stack {
  label: string;
  root?: string;
  prefix: string;
  api?: ServerProcess;
}
const stacks: Stack[] = [
  { label: "", prefix },
  ...(values["compare-root"] ? [{ label: " [compare-root]", root: values["compare-root"], prefix: `${prefix}-compare` }] : []),
];
const secret = randomBytes(32).toString("hex");
const database = await createTempDatabase(BENCH_DATABASE_URL, { label: "bench_scan" });
const sql = new pg.Client({ connectionString: database.url });
await sql.connect();
const servers: ServerProcess[] = [];
let worker: { server: ServerProcess; concurrency: number; stack: Stack } | undefined;

async function cleanup() {
  for (const server of servers) await server.stop().catch(() => undefined);
  await worker?.server.stop().catch(() => undefined);
  await sql.end().catch(() => undefined);
  const redis = createRedis(BENCH_REDIS_URL, { maxRetriesPerRequest: 2 });
  for (const stack of stacks) await deleteKeysWithPrefix(redis, stack.prefix).catch(() => undefined);
  redis.disconnect();
  await database.drop().catch((error: unknown) => log(`drop: ${String(error)}`));
  await rm(work, { recursive: true, force: true });
}
process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));

const envOf = (stack: Stack) => ({
  ...serviceEnv({ databaseUrl: database.url, prefix: stack.prefix, dataDir, secret, scanner: "clamav" }),
  CLAMAV_HOST: CLAMD.host,
  CLAMAV_PORT: String(CLAMD.port),
  UPLOAD_RATE_LIMIT_PER_MINUTE: "1000000000",
  UPLOAD_MAX_PENDING_PER_USER: "1000000000",
});

/**
 * The stack's worker with SCAN_CONCURRENCY=c, stopping any other first (not timed: called in setup). One
 * worker at a time: the stacks share the database, and an idle worker's reconciler must not take the
 * other stack's assets.
 */
async function ensureWorker(stack: Stack, concurrency: number): Promise<void> {
  if (worker?.concurrency === concurrency && worker.stack === stack) return;
  await worker?.server.stop();
  const port = await freePort();
  const name = `worker-c${concurrency}${stack.root ? "-compare" : ""}`;
  const server = await startServerProcess([...profileArgs(name), "--import", "tsx", "apps/worker/src/main.ts"], {
    port,
    readyPath: "/healthz",
    cwd: stack.root,
    env: { ...envOf(stack), SCAN_CONCURRENCY: String(concurrency), WORKER_METRICS_PORT: String(port) },
  });
  worker = { server, concurrency, stack };
}

function payload(): Buffer {
  const bytes = randomBytes(SIZE);
  bytes.write("airlock bench scan corpus\n", 0, "latin1");
  return bytes;
}

try {
  const startedAt = machine();
  const db = createPrismaClient(database.url, { max: 2 });
  const user = await createUser(db, { email: "bench@airlock.local", role: "USER" });
  const { key } = await createApiKey(db, user.id, "bench");
  await db.$disconnect();
  for (const stack of stacks) {
    const apiPort = await freePort();
    stack.api = await startServerProcess([...profileArgs(stack.root ? "api-compare" : "api"), "--import", "tsx", "apps/api/src/main.ts"], {
      port: apiPort,
      readyPath: "/healthz",
      cwd: stack.root,
      env: { ...envOf(stack), PORT: String(apiPort), PUBLIC_URL: `http://127.0.0.1:${apiPort}` },
    });
    servers.push(stack.api);
  }
  const apiOf = (stack: Stack) => stack.api as ServerProcess;

  /** `count` pending single-PUT assets whose unique object is stored; returns their ids. */
  async function prepareAssets(count: number): Promise<string[]> {
    await sql.query(`DELETE FROM "ScanResult"; DELETE FROM "UploadEvent"; DELETE FROM "SecurityEvent"; DELETE FROM "Asset";`);
    await rm(join(dataDir, "objects"), { recursive: true, force: true });
    const { rows } = await sql.query<{ id: string; key: string }>(
      `INSERT INTO "Asset" (id, "ownerId", "originalName", "safeName", "storageKey", "declaredMime", "declaredSize", "updatedAt")
       SELECT g.id, $1::uuid, 'corpus.bin', 'corpus.bin', 'uploads/' || $1::text || '/' || g.id || '/corpus.bin',
              'application/octet-stream', $3, now()
       FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $2)) g
       RETURNING id, "storageKey" AS key`,
      [user.id, count, SIZE],
    );
    for (const row of rows) {
      const path = join(dataDir, "objects", ...row.key.split("/"));
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, payload());
    }
    return rows.map((r) => r.id);
  }

  async function confirm(stack: Stack, assetId: string): Promise<void> {
    const res = await fetch(`${apiOf(stack).url}/trpc/upload.confirm`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ assetId }),
    });
    if (!res.ok) throw new Error(`confirm ${assetId}: ${res.status} ${await res.text()}`);
  }

  async function waitClean(count: number): Promise<void> {
    const deadline = Date.now() + 600_000;
    for (;;) {
      const { rows } = await sql.query<{ clean: string; other: string }>(
        `SELECT count(*) FILTER (WHERE status = 'CLEAN') AS clean,
                count(*) FILTER (WHERE status IN ('FAILED', 'QUARANTINED')) AS other FROM "Asset"`,
      );
      if (Number(rows[0]?.other) > 0) throw new Error(`${rows[0]?.other} assets FAILED or QUARANTINED`);
      if (Number(rows[0]?.clean) === count) return;
      if (Date.now() > deadline) throw new Error("timed out waiting for CLEAN");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  const workerPid = () => worker?.server.child.pid ?? 0;
  /** CPU ms per file of the API and the worker process (all threads), per timed pipeline run, by variant. */
  const cpuPerFile = new Map<string, { api: number[]; worker: number[] }>();
  let assets: string[] = [];
  let rawFiles: string[] = [];
  const variants: Variant[] = [];
  for (const c of LEVELS) {
    variants.push({
      name: `raw INSTREAM ×${c}`,
      setup: async () => {
        await rm(rawDir, { recursive: true, force: true });
        await mkdir(rawDir, { recursive: true });
        rawFiles = [];
        for (let i = 0; i < FILES; i++) {
          const path = join(rawDir, `f${i}`);
          await writeFile(path, payload());
          rawFiles.push(path);
        }
      },
      run: async () => {
        await mapLimit(rawFiles, c, async (path) => {
          const reply = await instream(path);
          if (reply !== "stream: OK") throw new Error(`clamd answered ${reply} for ${path}`);
        });
        return FILES;
      },
    });
    for (const stack of stacks) {
      const name = `pipeline ×${c}${stack.label}`;
      variants.push({
        name,
        setup: async () => {
          await ensureWorker(stack, c);
          assets = await prepareAssets(FILES);
        },
        run: async () => {
          const started = performance.now();
          const apiPid = apiOf(stack).child.pid ?? 0;
          const before = { api: processCpuMs(apiPid), worker: processCpuMs(workerPid()) };
          await mapLimit(assets, 8, (id) => confirm(stack, id));
          log(`  ${name}: every confirm answered after ${Math.round(performance.now() - started)} ms`);
          await waitClean(FILES);
          const cpu = cpuPerFile.get(name) ?? { api: [], worker: [] };
          cpu.api.push((processCpuMs(apiPid) - before.api) / FILES);
          cpu.worker.push((processCpuMs(workerPid()) - before.worker) / FILES);
          cpuPerFile.set(name, cpu);
          return FILES;
        },
      });
    }
  }

  // Warm-up (not timed): clamd's first scans, the worker's and API's first requests; checks CLEAN is reached.
  for (const variant of variants.slice(0, 1 + stacks.length)) {
    await variant.setup?.();
    await variant.run();
  }
  cpuPerFile.clear();
  const results = await runRounds(variants, ROUNDS, log);

  // Latency, one file at a time (no queueing).
  const latencyRows: string[] = [];
  for (const c of LATENCY_FILES > 0 ? LEVELS : [])
    for (const stack of stacks) {
      await ensureWorker(stack, c);
      const ids = await prepareAssets(LATENCY_FILES);
      const latencies: number[] = [];
      for (const id of ids) {
        const sent = Date.now();
        await confirm(stack, id);
        for (;;) {
          const { rows } = await sql.query<{ status: string; scannedAt: Date | null }>(
            `SELECT status, "scannedAt" FROM "Asset" WHERE id = $1`,
            [id],
          );
          const row = rows[0];
          if (row?.status === "CLEAN" && row.scannedAt) {
            latencies.push(row.scannedAt.getTime() - sent);
            break;
          }
          if (row?.status === "FAILED" || row?.status === "QUARANTINED") throw new Error(`asset ${id} is ${row.status}`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
      const sorted = [...latencies].sort((a, b) => a - b);
      const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] as number;
      latencyRows.push(
        `| SCAN_CONCURRENCY=${c}${stack.label} | ${LATENCY_FILES} | ${median(latencies).toFixed(0)} | ${p95.toFixed(0)} | ${sorted.at(-1)} |`,
      );
    }

  const mb = (FILES * SIZE) / 1e6;
  console.log(
    `\n## Scan pipeline — ${FILES} unique files of ${SIZE / 1024} KiB per variant (${mb.toFixed(1)} MB) — ${startedAt}; at the end: ${machine().split(", ").pop()}\n`,
  );
  console.log(
    table(results, `raw INSTREAM ×${LEVELS[0]}`, "files", { ratio: "rate", also: LEVELS.slice(1).map((c) => `raw INSTREAM ×${c}`) }),
  );
  console.log(`\nMB/s = files/s × ${(SIZE / 1e6).toFixed(3)}.\n`);
  // CPU per file is steadier than wall time on a shared 2-core machine: what the product itself spends.
  console.log("| CPU ms per file (median of runs) | API | worker | API + worker |\n|---|---|---|---|");
  for (const [name, cpu] of cpuPerFile) {
    const [a, w] = [median(cpu.api), median(cpu.worker)];
    console.log(`| ${name} | ${a.toFixed(2)} | ${w.toFixed(2)} | ${(a + w).toFixed(2)} |`);
  }
  if (latencyRows.length) {
    console.log("\n| confirm → CLEAN, one file at a time | files | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|");
    console.log(latencyRows.join("\n"));
  }
  console.log(
    `\nReproduce: npx tsx bench/scan.ts --rounds ${ROUNDS} --files ${FILES} --size-kib ${SIZE / 1024} --concurrency ${values.concurrency} --latency-files ${LATENCY_FILES}${values["compare-root"] ? " --compare-root DIR" : ""}`,
  );
} finally {
  await cleanup();
}
