import { Redis, type RedisOptions } from "ioredis";

/**
 * A Redis connection. BullMQ workers block on Redis and require `maxRetriesPerRequest: null`; other
 * callers (the API) prefer failing fast, so they pass a number and get a clear error while Redis is down.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: false,
    ...options,
  });
}

/**
 * Prefix for BullMQ; the hash tag `{...}` keeps every key of a deployment in one Redis Cluster slot,
 * which BullMQ's multi-key Lua scripts require.
 */
export function bullPrefix(prefix: string): string {
  return `{${prefix}}`;
}

/** Key for Airlock's own Redis data (rate limits, analytics), under the same prefix. */
export function redisKey(prefix: string, ...parts: Array<string | number>): string {
  return [prefix, ...parts].join(":");
}

/**
 * Deletes every key of a deployment or test run: Airlock's own (`prefix:...`) and BullMQ's
 * (`{prefix}:...`). SCAN in pages, so a large keyspace is never blocked.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  for (const pattern of [`${prefix}:*`, `${bullPrefix(prefix)}:*`]) {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== "0");
  }
  return deleted;
}
