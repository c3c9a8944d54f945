/**
 * Soak: does the worker's memory stay flat and its event loop responsive over many scan jobs (goals: RSS
 * flat within 10 % after warm-up; no leaked handles)?
 *   npx tsx bench/soak.ts [--jobs 10000] [--warmup 1000] [--slice 1000] [--size-kib 4] [--scanner clamav|mock]
 *                         [--concurrency 2] [--backlog 64] [--sample-ms 1000] [--window 10] [--heap-snapshots DIR]
 *
 * One real worker process (apps/worker/src/main.ts, SCAN_CONCURRENCY=--concurrency, SCANNER_PROVIDER=--scanner;
 * clamav = clamd on CLAMAV_HOST:CLAMAV_PORT, default 127.0.0.1:3310 of scripts/services.sh), a temp database,
 * its own Redis prefix, local storage in a temp folder. This process feeds it scan jobs the way the API's
 * confirm leaves them: an UPLOADED asset row (size, detected type, confirmed key) whose unique random object
 * is stored, then `queueScan` (the shared helper confirm calls: job id = asset id, SCAN_ATTEMPTS, backoff).
 * Rows and files are made just before their jobs are queued, in batches, keeping at most --backlog jobs
 * waiting or active (Redis and the database grow as they would, the queue does not). Every clean scan also
 * queues its `notifications` job (in-app row), which the same worker runs: that is part of the load.
 *
 * Every --sample-ms this process scrapes the worker's /metrics (prom-client default metrics: RSS, heap,
 * active handles and resources, event-loop delay histogram reset at each scrape; airlock_scans_total) and
 * reads the worker's CPU time from /proc. Jobs done = the worker's airlock_scans_total. Slices of --slice jobs
 * are reported; baseline = median of the --window samples right after --warmup jobs, final = median of the
 * last --window samples before the last job finished. Handles are also counted idle, before the first job
 * and 15 s after the last (by type). At the end: every asset must be CLEAN, and the worker must exit with
 * code 0 on SIGTERM. --heap-snapshots DIR: the worker writes a heap snapshot (SIGUSR2) when warm-up ends and
 * after the run, into DIR, and the report compares their live heaps (after a full GC) by constructor. For
 * investigation: a snapshot blocks the worker for seconds, raises its RSS for good and slows its GC from then
 * on (V8 keeps tracking object ids), so the measured part then starts after the first snapshot and its event-
 * loop and RSS figures are not comparable with a run without snapshots.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { createPrismaClient } from "@airlock/db";
import { createTempDatabase } from "@airlock/db/testing";
import { parseEnv } from "@airlock/shared/env";
import { closeQueues, createQueues } from "@airlock/shared/queue-client";
import { createRedis, deleteKeysWithPrefix } from "@airlock/shared/redis";
import { queueScan } from "@airlock/shared/scan-queue";
import { confirmedKey } from "@airlock/shared/storage";
import pg from "pg";
import { createUser } from "../apps/api/src/services/users.ts";
import {
  BENCH_DATABASE_URL,
  BENCH_REDIS_URL,
  freePort,
  load,
  machine,
  median,
  processCpuMs,
  type ServerProcess,
  serviceEnv,
  startServerProcess,
} from "./lib.ts";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "10000" },
    warmup: { type: "string", default: "1000" },
    slice: { type: "string", default: "1000" },
    "size-kib": { type: "string", default: "4" },
    scanner: { type: "string", default: "clamav" },
    concurrency: { type: "string", default: "2" },
    backlog: { type: "string", default: "64" },
    "sample-ms": { type: "string", default: "1000" },
    window: { type: "string", default: "10" },
    "heap-snapshots": { type: "string" },
  },
});
const JOBS = Number(values.jobs);
const WARMUP = Number(values.warmup);
const SLICE = Number(values.slice);
const SIZE = Number(values["size-kib"]) * 1024;
const SCANNER = values.scanner;
const CONCURRENCY = Number(values.concurrency);
const BACKLOG = Number(values.backlog);
const SAMPLE_MS = Number(values["sample-ms"]);
const WINDOW = Number(values.window);
const SNAPSHOTS = values["heap-snapshots"];
if (SCANNER !== "clamav" && SCANNER !== "mock") throw new Error("--scanner is clamav or mock");
if (!(JOBS > WARMUP && WARMUP >= 0 && SLICE > 0 && BACKLOG >= 2 && SIZE > 0))
  throw new Error("need --jobs > --warmup ≥ 0, --slice > 0, --backlog ≥ 2");
/** prom-client's monitorEventLoopDelay resolution (its default): the histogram records the timer's whole period. */
const ELD_RESOLUTION_MS = 10;
/** How long the worker must be idle before its handles are counted after the run (pg's pool closes idle clients after 10 s). */
const IDLE_SETTLE_MS = 15_000;
const CLAMD = { host: process.env.CLAMAV_HOST ?? "127.0.0.1", port: Number(process.env.CLAMAV_PORT ?? 3310) };
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MiB = 1024 * 1024;

const work = join(tmpdir(), `airlock-bench-soak-${process.pid}`);
const dataDir = join(work, "data");
const prefix = `airlock-bench-soak-${randomBytes(4).toString("hex")}`;
const database = await createTempDatabase(BENCH_DATABASE_URL, { label: "bench_soak" });
const sql = new pg.Client({ connectionString: database.url });
await sql.connect();
const redis = createRedis(BENCH_REDIS_URL);
const queues = createQueues(redis, prefix, (error) => log(`queue: ${error.message}`));
let worker: ServerProcess | undefined;

async function cleanup() {
  await worker?.stop().catch(() => undefined);
  await closeQueues(queues).catch(() => undefined);
  await deleteKeysWithPrefix(redis, prefix).catch((error: unknown) => log(`redis cleanup: ${String(error)}`));
  redis.disconnect();
  await sql.end().catch(() => undefined);
  await database.drop().catch((error: unknown) => log(`drop: ${String(error)}`));
  await rm(work, { recursive: true, force: true });
}
process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));

/** One scrape of the worker's /metrics plus its CPU time. */
interface Sample {
  /** ms since the first job was queued */
  t: number;
  /** airlock_scans_total, all verdicts */
  jobs: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  handles: number;
  handlesByType: Record<string, number>;
  resources: number;
  /** process_open_fds */
  fds: number;
  resourcesByType: Record<string, number>;
  /** event-loop delay beyond the sampling interval over this sample's window, ms */
  eldP50: number;
  eldP99: number;
  eldMax: number;
  cpuMs: number;
}

/** The Prometheus text format's samples, by metric name: [labels, value] pairs. */
function parseMetrics(text: string): Map<string, Array<{ labels: Record<string, string>; value: number }>> {
  const out = new Map<string, Array<{ labels: Record<string, string>; value: number }>>();
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] as string] = pair[2] as string;
    const list = out.get(match[1] as string) ?? [];
    list.push({ labels, value: Number(match[3]) });
    out.set(match[1] as string, list);
  }
  return out;
}

let firstQueuedAt = 0;
async function sample(server: ServerProcess): Promise<Sample> {
  const res = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`worker /metrics: ${res.status}`);
  const metrics = parseMetrics(await res.text());
  const sum = (name: string) => (metrics.get(name) ?? []).reduce((total, s) => total + s.value, 0);
  const byType = (name: string) => Object.fromEntries((metrics.get(name) ?? []).map((s) => [s.labels.type ?? "?", s.value]));
  const eld = (name: string) => Math.max(0, sum(name) * 1000 - ELD_RESOLUTION_MS);
  return {
    t: firstQueuedAt ? performance.now() - firstQueuedAt : 0,
    jobs: sum("airlock_scans_total"),
    rss: sum("process_resident_memory_bytes"),
    heapUsed: sum("nodejs_heap_size_used_bytes"),
    heapTotal: sum("nodejs_heap_size_total_bytes"),
    external: sum("nodejs_external_memory_bytes"),
    handles: sum("nodejs_active_handles_total"),
    handlesByType: byType("nodejs_active_handles"),
    resources: sum("nodejs_active_resources_total"),
    fds: sum("process_open_fds"),
    resourcesByType: byType("nodejs_active_resources"),
    eldP50: eld("nodejs_eventloop_lag_p50_seconds"),
    eldP99: eld("nodejs_eventloop_lag_p99_seconds"),
    eldMax: eld("nodejs_eventloop_lag_max_seconds"),
    cpuMs: processCpuMs(server.child.pid ?? 0),
  };
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx ? sxy / sxx : 0;
}

/** Total self size of a V8 heap snapshot and its nodes grouped by type and name (constructor, closure, string…). */
async function heapSummary(path: string): Promise<{ total: number; byName: Map<string, { count: number; size: number }> }> {
  const snap = JSON.parse(await readFile(path, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const [typeAt, nameAt, sizeAt] = [fields.indexOf("type"), fields.indexOf("name"), fields.indexOf("self_size")];
  const typeNames = snap.snapshot.meta.node_types[0];
  const byName = new Map<string, { count: number; size: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = typeNames[snap.nodes[i + typeAt] as number] ?? "?";
    const size = snap.nodes[i + sizeAt] as number;
    total += size;
    // Strings and code are grouped by type only (their names are their contents).
    const name = type === "object" || type === "closure" || type === "native" ? snap.strings[snap.nodes[i + nameAt] as number] : "";
    const key = `${type}: ${name}`;
    const entry = byName.get(key) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += size;
    byName.set(key, entry);
  }
  return { total, byName };
}

const types = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, n]) => `${type} ${n}`)
    .join(", ");

try {
  const startedAt = machine();
  const db = createPrismaClient(database.url, { max: 1 });
  const user = await createUser(db, { email: "soak@airlock.local", role: "USER" });
  await db.$disconnect();

  const port = await freePort();
  if (SNAPSHOTS) await mkdir(SNAPSHOTS, { recursive: true });
  const nodeArgs = SNAPSHOTS ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${SNAPSHOTS}`] : [];
  worker = await startServerProcess([...nodeArgs, "--import", "tsx", "apps/worker/src/main.ts"], {
    port,
    readyPath: "/healthz",
    env: {
      ...serviceEnv({ databaseUrl: database.url, prefix, dataDir, secret: randomBytes(32).toString("hex"), scanner: SCANNER }),
      CLAMAV_HOST: CLAMD.host,
      CLAMAV_PORT: String(CLAMD.port),
      SCAN_CONCURRENCY: String(CONCURRENCY),
      WORKER_METRICS_PORT: String(port),
    },
  });
  const server = worker;
  /** Asks the worker for a heap snapshot (SIGUSR2) and waits until it answers again, i.e. has written it; returns its path. */
  const snapshot = async (label: string): Promise<string | undefined> => {
    if (!SNAPSHOTS) return undefined;
    const before = new Set(await readdir(SNAPSHOTS));
    server.child.kill("SIGUSR2");
    log(`heap snapshot (${label}) requested into ${SNAPSHOTS}`);
    for (;;) {
      await sleep(500);
      await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(120_000) });
      const added = (await readdir(SNAPSHOTS)).filter((name) => name.endsWith(".heapsnapshot") && !before.has(name));
      if (added[0]) return join(SNAPSHOTS, added[0]);
    }
  };

  // Idle, before any job: the first scrape opens the worker's database connection; count after it settles.
  await sample(server);
  await sleep(3000);
  const idleBefore = await sample(server);

  // Feeder: rows + files + queueScan in batches, keeping the backlog (waiting + active) at most BACKLOG.
  const scanQueue = queues["asset-virus-scan"];
  // The product's defaults (the worker runs with them too).
  const scanEnv = parseEnv({});
  const batch = Math.max(1, Math.floor(BACKLOG / 2));
  let fed = 0;
  let feedError: unknown;
  /** `count` assets as confirm leaves them: the object at its confirmed key, the row UPLOADED, the scan queued. */
  async function seed(count: number): Promise<void> {
    const ids = Array.from({ length: count }, () => randomUUID());
    const keys = ids.map((id) => confirmedKey(`uploads/${user.id}/${id}/soak.bin`));
    await Promise.all(
      keys.map(async (key) => {
        const path = join(dataDir, "objects", ...key.split("/"));
        await mkdir(dirname(path), { recursive: true });
        const bytes = randomBytes(SIZE);
        bytes.write("airlock bench soak corpus\n", 0, "latin1");
        await writeFile(path, bytes);
      }),
    );
    await sql.query(
      `INSERT INTO "Asset" (id, "ownerId", "originalName", "safeName", "storageKey", "declaredMime", "detectedMime",
                            "declaredSize", size, status, "confirmedAt", "updatedAt")
       SELECT a.id, $1::uuid, 'soak.bin', 'soak.bin', a.key, 'application/octet-stream', 'application/octet-stream',
              $4, $4, 'UPLOADED', now(), now()
       FROM unnest($2::uuid[], $3::text[]) AS a(id, key)`,
      [user.id, ids, keys, SIZE],
    );
    for (const id of ids) await queueScan(queues, scanEnv, id);
  }
  const feeder = (async () => {
    firstQueuedAt = performance.now();
    while (fed < JOBS) {
      const counts = await scanQueue.getJobCounts("waiting", "prioritized", "active", "delayed");
      const backlog = Object.values(counts).reduce((a, b) => a + b, 0);
      if (backlog > BACKLOG - batch) {
        await sleep(20);
        continue;
      }
      const count = Math.min(batch, JOBS - fed);
      await seed(count);
      fed += count;
    }
  })().catch((error: unknown) => {
    feedError = error;
  });

  // Sampler: one scrape every SAMPLE_MS until every job is done (terminal in the database).
  const samples: Sample[] = [];
  /** Index of the first sample after warm-up (with --heap-snapshots: the first after the baseline snapshot). */
  let measuredFrom = -1;
  let baselineSnapshot: string | undefined;
  let nextSliceLog = SLICE;
  let lastProgress = performance.now();
  let lastJobs = 0;
  for (;;) {
    const tick = performance.now();
    const s = await sample(server);
    samples.push(s);
    if (s.jobs !== lastJobs) {
      lastJobs = s.jobs;
      lastProgress = tick;
    }
    if (s.jobs >= nextSliceLog) {
      log(
        `${String(s.jobs).padStart(6)} jobs  ${(s.t / 1000).toFixed(0).padStart(5)} s  RSS ${(s.rss / MiB).toFixed(1)} MiB  heap ${(s.heapUsed / MiB).toFixed(1)} MiB  handles ${s.handles}  resources ${s.resources}  ${load()}`,
      );
      nextSliceLog = (Math.floor(s.jobs / SLICE) + 1) * SLICE;
    }
    if (measuredFrom < 0 && s.jobs >= WARMUP) {
      // Writing a snapshot raises the worker's RSS for good and slows its GC from then on (V8 keeps tracking
      // object ids): with snapshots, the measured part starts after the first one.
      baselineSnapshot = await snapshot("baseline");
      measuredFrom = baselineSnapshot ? samples.length : samples.length - 1;
    }
    if (feedError) throw feedError;
    if (s.jobs >= JOBS) {
      const { rows } = await sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM "Asset" WHERE status IN ('CLEAN', 'QUARANTINED', 'FAILED')`,
      );
      if (Number(rows[0]?.n) >= JOBS) break;
    }
    if (tick - lastProgress > 120_000) throw new Error(`no job finished for 120 s (${s.jobs} of ${JOBS} done)`);
    await sleep(Math.max(0, SAMPLE_MS - (performance.now() - tick)));
  }
  await feeder;
  const runMs = samples.at(-1)?.t ?? 0;
  log(`all ${JOBS} jobs done in ${(runMs / 1000).toFixed(0)} s; idle ${IDLE_SETTLE_MS / 1000} s before counting handles`);
  await sleep(IDLE_SETTLE_MS);
  const idleAfter = await sample(server);
  const finalSnapshot = await snapshot("after the run");

  // Every asset terminal and CLEAN.
  const { rows: byStatus } = await sql.query<{ status: string; n: string }>(
    `SELECT status::text AS status, count(*) AS n FROM "Asset" GROUP BY status ORDER BY status`,
  );
  const { rows: byEngine } = await sql.query<{ engine: string; verdict: string; n: string }>(
    `SELECT engine, verdict::text AS verdict, count(*) AS n FROM "ScanResult" GROUP BY engine, verdict ORDER BY engine, verdict`,
  );
  const statusLine = `assets ${byStatus.map((r) => `${r.status} ${r.n}`).join(", ")}; verdicts ${byEngine.map((r) => `${r.engine} ${r.verdict} ${r.n}`).join(", ")}`;
  const clean = Number(byStatus.find((r) => r.status === "CLEAN")?.n ?? 0);

  // SIGTERM: the worker closes its BullMQ workers, queues, scanner, database and Redis and exits 0.
  const termStarted = performance.now();
  await server.stop();
  const termMs = performance.now() - termStarted;
  const exitCode = server.child.exitCode;
  const exitSignal = server.child.signalCode;
  worker = undefined;

  // ---- report
  const afterWarmup = samples.slice(measuredFrom);
  if (afterWarmup.length < 2 * WINDOW) log(`warning: only ${afterWarmup.length} samples after warm-up; the windows overlap`);
  const baseWindow = afterWarmup.slice(0, WINDOW);
  const finalWindow = afterWarmup.slice(-WINDOW);
  const med = (list: Sample[], f: (s: Sample) => number) => median(list.map(f));
  const max = (list: Sample[], f: (s: Sample) => number) => Math.max(...list.map(f));

  const sliceRows: string[] = [];
  let previous: Sample | undefined;
  for (let start = 0; start < JOBS; start += SLICE) {
    const end = Math.min(JOBS, start + SLICE);
    const inSlice = samples.filter((s) => s.jobs >= start && (s.jobs < end || (end === JOBS && s.jobs >= end)));
    if (!inSlice.length) continue;
    const last = inSlice.at(-1) as Sample;
    const from = previous ?? idleBefore;
    const jobs = last.jobs - (previous?.jobs ?? 0);
    const seconds = (last.t - (previous?.t ?? 0)) / 1000;
    sliceRows.push(
      `| ${start}–${end}${end <= WARMUP ? " (warm-up)" : ""} | ${(last.t / 1000).toFixed(0)} | ${(jobs / seconds).toFixed(1)} | ${(med(inSlice, (s) => s.rss) / MiB).toFixed(1)} / ${(max(inSlice, (s) => s.rss) / MiB).toFixed(1)} | ${(med(inSlice, (s) => s.heapUsed) / MiB).toFixed(1)} / ${(max(inSlice, (s) => s.heapUsed) / MiB).toFixed(1)} | ${med(inSlice, (s) => s.handles)} / ${max(inSlice, (s) => s.handles)} | ${med(inSlice, (s) => s.resources)} | ${med(inSlice, (s) => s.eldP50).toFixed(1)} | ${med(inSlice, (s) => s.eldP99).toFixed(1)} | ${max(inSlice, (s) => s.eldMax).toFixed(0)} | ${jobs ? ((last.cpuMs - from.cpuMs) / jobs).toFixed(2) : "n/a"} |`,
    );
    previous = last;
  }

  const ratio = (f: (s: Sample) => number) => med(finalWindow, f) / med(baseWindow, f);
  const perThousand = (f: (s: Sample) => number) => slope(afterWarmup.map((s) => [s.jobs / 1000, f(s)])) / MiB;
  const rssRatio = ratio((s) => s.rss);
  const rssMaxRatio = max(afterWarmup, (s) => s.rss) / med(baseWindow, (s) => s.rss);
  const handlesRatio = ratio((s) => s.handles);
  const rssMet = rssRatio <= 1.1;
  const handlesMet = handlesRatio <= 1.1 && idleAfter.handles <= idleBefore.handles;
  const cleanExit = exitCode === 0 && exitSignal === null;
  const allClean = clean === JOBS;
  const row = (name: string, f: (s: Sample) => number, unit: number, digits: number, goal: string) =>
    `| ${name} | ${(med(baseWindow, f) / unit).toFixed(digits)} | ${(med(finalWindow, f) / unit).toFixed(digits)} | ${(max(afterWarmup, f) / unit).toFixed(digits)} | ${ratio(f).toFixed(3)} | ${goal} |`;

  console.log(
    `\n## Soak — ${JOBS} scan jobs (${SIZE / 1024} KiB unique files, SCANNER_PROVIDER=${SCANNER}, SCAN_CONCURRENCY=${CONCURRENCY}, backlog ≤ ${BACKLOG}) — ${startedAt}; at the end: ${load()}\n`,
  );
  console.log(
    `Run: ${(runMs / 1000).toFixed(0)} s, ${(JOBS / (runMs / 1000)).toFixed(1)} jobs/s. Samples every ${SAMPLE_MS} ms; per slice the median / max of its samples; event-loop delay beyond prom-client's ${ELD_RESOLUTION_MS} ms sampling period, per ${SAMPLE_MS} ms window (p50 and p99: median of the windows; max: the worst).\n`,
  );
  console.log(
    "| jobs | s (end) | jobs/s | RSS MiB (median / max) | heap used MiB (median / max) | active handles (median / max) | active resources (median) | ELD p50 ms | ELD p99 ms | ELD max ms | worker CPU ms/job |\n|---|---|---|---|---|---|---|---|---|---|---|",
  );
  console.log(sliceRows.join("\n"));
  console.log(
    `\nBaseline = median of the ${WINDOW} samples right after ${WARMUP} jobs${SNAPSHOTS ? " and the baseline heap snapshot" : ""} (${baseWindow[0]?.jobs}–${baseWindow.at(-1)?.jobs}); final = median of the last ${WINDOW} (${finalWindow[0]?.jobs}–${finalWindow.at(-1)?.jobs}).\n`,
  );
  console.log("| measure | baseline | final | max after warm-up | final / baseline | goal |\n|---|---|---|---|---|---|");
  console.log(row("RSS MiB", (s) => s.rss, MiB, 1, `≤ 1.10 (${rssMet ? "met" : "not met"}); max / baseline ${rssMaxRatio.toFixed(3)}`));
  console.log(row("heap used MiB", (s) => s.heapUsed, MiB, 1, "—"));
  console.log(row("heap total MiB", (s) => s.heapTotal, MiB, 1, "—"));
  console.log(row("external MiB", (s) => s.external, MiB, 1, "—"));
  console.log(row("active handles", (s) => s.handles, 1, 0, `not growing (${handlesMet ? "met" : "not met"})`));
  console.log(row("active resources", (s) => s.resources, 1, 0, "not growing"));
  console.log(row("open file descriptors", (s) => s.fds, 1, 0, "not growing"));
  console.log(row("ELD p99 ms", (s) => s.eldP99, 1, 1, "—"));
  console.log(
    `\nTrend after warm-up (least squares over ${afterWarmup.length} samples): RSS ${perThousand((s) => s.rss).toFixed(3)} MiB, heap used ${perThousand((s) => s.heapUsed).toFixed(3)} MiB, handles ${(perThousand((s) => s.handles) * MiB).toFixed(3)} per 1,000 jobs.\n`,
  );
  console.log(
    "| idle worker | RSS MiB | heap used MiB | open fds | active handles (by type) | active resources (by type) |\n|---|---|---|---|---|---|",
  );
  for (const [name, s] of [
    ["before the first job", idleBefore],
    [`${IDLE_SETTLE_MS / 1000} s after the last job`, idleAfter],
  ] as const)
    console.log(
      `| ${name} | ${(s.rss / MiB).toFixed(1)} | ${(s.heapUsed / MiB).toFixed(1)} | ${s.fds} | ${s.handles} (${types(s.handlesByType)}) | ${s.resources} (${types(s.resourcesByType)}) |`,
    );
  console.log(
    `\nEnd state: ${statusLine} (${allClean ? `all ${JOBS} CLEAN` : `NOT all CLEAN: ${clean} of ${JOBS}`}). SIGTERM → exit ${exitCode ?? exitSignal} in ${termMs.toFixed(0)} ms (${cleanExit ? "clean" : "NOT clean"}).`,
  );
  if (baselineSnapshot && finalSnapshot) {
    // A heap snapshot follows a full GC: its live size is the retained heap, free of the sawtooth above.
    const [a, b] = [await heapSummary(baselineSnapshot), await heapSummary(finalSnapshot)];
    console.log(
      `\nLive heap in the snapshots (after a full GC): baseline ${(a.total / MiB).toFixed(1)} MiB, after the run ${(b.total / MiB).toFixed(1)} MiB (× ${(b.total / a.total).toFixed(3)}). Largest growth by constructor:\n`,
    );
    console.log("| node type: name | count baseline → after | self MiB baseline → after |\n|---|---|---|");
    const keys = new Set([...a.byName.keys(), ...b.byName.keys()]);
    const growth = [...keys]
      .map((key) => ({ key, a: a.byName.get(key) ?? { count: 0, size: 0 }, b: b.byName.get(key) ?? { count: 0, size: 0 } }))
      .sort((x, y) => y.b.size - y.a.size - (x.b.size - x.a.size))
      .slice(0, 10);
    for (const g of growth)
      console.log(
        `| ${g.key.replaceAll("|", "\\|").slice(0, 80)} | ${g.a.count} → ${g.b.count} | ${(g.a.size / MiB).toFixed(3)} → ${(g.b.size / MiB).toFixed(3)} |`,
      );
  }
  console.log(
    `\nReproduce: npx tsx bench/soak.ts --jobs ${JOBS} --warmup ${WARMUP} --slice ${SLICE} --size-kib ${SIZE / 1024} --scanner ${SCANNER} --concurrency ${CONCURRENCY} --backlog ${BACKLOG} --sample-ms ${SAMPLE_MS} --window ${WINDOW}${SNAPSHOTS ? " --heap-snapshots DIR" : ""}`,
  );
  if (!allClean || !cleanExit) process.exitCode = 1;
} finally {
  await cleanup();
}
