import { AppError } from "../errors.ts";
import type { Day } from "./days.ts";
import type { AnalyticsDeps } from "./deps.ts";
import { type DayHash, dayKey } from "./keys.ts";

/**
 * Runs a pipeline (a MULTI with `transaction`); Redis being unreachable becomes SERVICE_UNAVAILABLE, as
 * for any backing service. Answers the commands' results in order.
 */
export async function execPipeline(
  deps: Pick<AnalyticsDeps, "redis">,
  build: (pipeline: ReturnType<AnalyticsDeps["redis"]["pipeline"]>) => void,
  options: { transaction?: boolean } = {},
): Promise<unknown[]> {
  const pipeline = options.transaction ? deps.redis.multi() : deps.redis.pipeline();
  build(pipeline);
  let results: Array<[Error | null, unknown]> | null;
  try {
    results = await pipeline.exec();
  } catch (error) {
    throw unavailable(error);
  }
  return (results ?? []).map(([error, value]) => {
    if (error) throw unavailable(error);
    return value;
  });
}

export function unavailable(error: unknown): AppError {
  return new AppError("SERVICE_UNAVAILABLE", "analytics are unavailable while Redis cannot be reached; retry shortly", { cause: error });
}

/** One hash per day, in `days` order (missing hashes read as empty): one round trip. */
export async function readDayHashes(deps: Pick<AnalyticsDeps, "redis" | "env">, days: readonly Day[], hash: DayHash) {
  const values = await execPipeline(deps, (p) => {
    for (const day of days) p.hgetall(dayKey(deps.env.REDIS_PREFIX, day, hash));
  });
  return values as Array<Record<string, string>>;
}

export function num(value: string | number | null | undefined): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}
