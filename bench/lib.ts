import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg } from "node:os";

/**
 * Shared by the benchmarks: interleaved rounds with the order rotated each round, medians, min–max
 * and the median of per-round ratios against a baseline (BENCHMARKING.md).
 */
export interface Variant {
  name: string;
  /** Not timed: prepares the data the timed part consumes. */
  setup?: () => Promise<void>;
  /** Timed. Returns the amount of work done (items, bytes) for the rate column. */
  run: () => Promise<number>;
}

export interface RoundResult {
  name: string;
  ms: number;
  work: number;
}

export async function runRounds(
  variants: Variant[],
  rounds: number,
  log = (line: string) => process.stderr.write(`${line}\n`),
): Promise<RoundResult[][]> {
  const all: RoundResult[][] = [];
  for (let round = 0; round < rounds; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant);
    const results: RoundResult[] = [];
    for (const variant of order) {
      await variant.setup?.();
      const started = performance.now();
      const work = await variant.run();
      const ms = performance.now() - started;
      results.push({ name: variant.name, ms, work });
      log(`round ${round + 1}/${rounds}  ${variant.name.padEnd(28)} ${ms.toFixed(0).padStart(8)} ms`);
    }
    all.push(results);
  }
  return all;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * A markdown table: per variant median ms (min–max), rate, and the median per-round ratio to the baseline.
 * `ratio: "rate"` reports the ratio of rates (variant work/ms over the baseline's: above 1 is faster) instead of times;
 * `also` adds a column per extra reference variant (same kind of ratio).
 */
export function table(
  rounds: RoundResult[][],
  baseline: string,
  unit: string,
  options: { ratio?: "time" | "rate"; also?: string[] } = {},
): string {
  const rate = options.ratio === "rate";
  const also = options.also ?? [];
  const names = rounds[0]?.map((r) => r.name).sort((a, b) => (a === baseline ? -1 : b === baseline ? 1 : a.localeCompare(b))) ?? [];
  const ratioTo = (name: string, reference: string) =>
    median(
      rounds.map((round) => {
        const run = round.find((r) => r.name === name) as RoundResult;
        const ref = round.find((r) => r.name === reference) as RoundResult;
        // Rates compare work per time, so variants may do different amounts of work per round.
        return rate ? run.work / run.ms / (ref.work / ref.ms) : run.ms / ref.ms;
      }),
    ).toFixed(2);
  const kind = rate ? `× ${baseline} ${unit}/s` : "× baseline";
  const lines = [
    `| variant | median ms (min–max) | ${unit}/s | ${kind} (median of per-round ratios) |${also.map((a) => ` × ${a} |`).join("")}`,
    `|---|---|---|---|${also.map(() => "---|").join("")}`,
  ];
  for (const name of names) {
    const runs = rounds.map((round) => round.find((r) => r.name === name) as RoundResult);
    const ms = runs.map((r) => r.ms);
    const rates = runs.map((r) => (r.work / r.ms) * 1000);
    lines.push(
      `| ${name} | ${median(ms).toFixed(0)} (${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)}) | ${median(rates).toFixed(0)} | ${name === baseline ? "1.00 (baseline)" : ratioTo(name, baseline)} |${also.map((a) => ` ${name === a ? "1.00" : ratioTo(name, a)} |`).join("")}`,
    );
  }
  return lines.join("\n");
}

export function machine(): string {
  const version = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8" }).trim().split("\n")[0];
    } catch {
      return "n/a";
    }
  };
  return `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), PostgreSQL ${version("psql", ["-V"])?.split(" ").pop()}, ${new Date().toISOString().slice(0, 10)}, ${load()}`;
}

/** The load average right now (other engineers' test suites share these 2 cores). */
export function load(): string {
  return `load average ${loadavg()
    .map((n) => n.toFixed(2))
    .join(" ")}`;
}

/** A free TCP port on 127.0.0.1 (the server processes must know their public URL before they listen). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the process has exited. */
  stop(): Promise<void>;
}

/**
 * Starts a server in its own process (so it has its own event loop and its CPU is not the client's) and
 * waits until `${url}${readyPath}` answers. Its stderr is passed through; stdout is discarded.
 */
export async function startServerProcess(
  args: string[],
  options: { port: number; env?: Record<string, string>; readyPath?: string; timeoutMs?: number; cwd?: string },
): Promise<ServerProcess> {
  const url = `http://127.0.0.1:${options.port}`;
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`server process ${args.join(" ")} exited before it was ready`);
    try {
      await fetch(`${url}${options.readyPath ?? "/"}`);
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`server process ${args.join(" ")} not ready after ${options.timeoutMs ?? 60_000} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return {
    url,
    child,
    async stop() {
      if (exited) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** CPU time (user + system, all threads) a process has used so far, in ms; Linux /proc. */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** The PostgreSQL server a bench makes its temp database on, and its Redis: the tests' defaults. */
export const BENCH_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
export const BENCH_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * The environment of an API or worker process a bench starts: its temp database, its own Redis prefix,
 * local storage in `dataDir`, quiet logs, libuv's pool as `npm start` sizes it. Callers add their own.
 */
export function serviceEnv(options: {
  databaseUrl: string;
  prefix: string;
  dataDir: string;
  secret: string;
  scanner: string;
}): Record<string, string> {
  return {
    NODE_ENV: "development",
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: BENCH_REDIS_URL,
    REDIS_PREFIX: options.prefix,
    STORAGE_DRIVER: "local",
    DATA_DIR: options.dataDir,
    STORAGE_SIGNING_SECRET: options.secret,
    SCANNER_PROVIDER: options.scanner,
    UV_THREADPOOL_SIZE: "16",
  };
}
