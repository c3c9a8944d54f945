import type { AppDeps } from "./context.ts";

/** Per-dependency answer of /readyz. */
export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

const CHECK_TIMEOUT_MS = 2_000;

async function timed(check: () => Promise<unknown>): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, ms: Math.round(performance.now() - started), error: (error as Error).message?.slice(0, 200) ?? String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Readiness: every dependency a request may need, each checked at once with its own timeout, so a
 * load balancer takes a replica out while PostgreSQL, Redis, storage or the scanner is unreachable.
 */
export async function checkReadiness(deps: Pick<AppDeps, "db" | "redis" | "storage" | "scanner">) {
  const [database, redis, storage, scanner] = await Promise.all([
    timed(() => deps.db.$queryRaw`SELECT 1`),
    timed(async () => {
      if ((await deps.redis.ping()) !== "PONG") throw new Error("unexpected PING answer");
    }),
    timed(() => deps.storage.health()),
    timed(() => deps.scanner.health()),
  ]);
  const checks = { database, redis, storage, scanner };
  return { status: Object.values(checks).every((c) => c.ok) ? ("ready" as const) : ("unavailable" as const), checks };
}
