import { ANALYTICS_CACHE_SECONDS, type AnalyticsDeps } from "./deps.ts";
import { cacheGenerationKey, cacheKey } from "./keys.ts";

/**
 * The short cache of query answers, in Redis so every API replica shares it. Keys carry a generation
 * that `rebuild` bumps, so a rebuilt range never answers from an older cache entry. A cache that cannot
 * be read or written is skipped, never an error of its own.
 */
export async function cached<T>(deps: AnalyticsDeps, parts: Array<string | number>, compute: () => Promise<T>): Promise<T> {
  const ttl = deps.analyticsCacheSeconds ?? ANALYTICS_CACHE_SECONDS;
  if (ttl <= 0) return compute();
  const prefix = deps.env.REDIS_PREFIX;
  let key: string | undefined;
  try {
    const generation = (await deps.redis.get(cacheGenerationKey(prefix))) ?? "0";
    key = cacheKey(prefix, generation, ...parts);
    const hit = await deps.redis.get(key);
    if (hit) return JSON.parse(hit) as T;
  } catch {
    // Computing will report Redis being down if it is.
  }
  const value = await compute();
  if (key) await deps.redis.set(key, JSON.stringify(value), "EX", ttl).catch(() => undefined);
  return value;
}

/** Makes every cached answer stale (after `rebuild`). */
export async function invalidateCache(deps: Pick<AnalyticsDeps, "redis" | "env">): Promise<void> {
  await deps.redis.incr(cacheGenerationKey(deps.env.REDIS_PREFIX));
}
