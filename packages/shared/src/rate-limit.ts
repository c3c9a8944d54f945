import type { Redis } from "ioredis";

/**
 * Fixed-window counter in Redis: cheap, shared by every API replica, and exact enough for abuse
 * limits. Returns how long to wait when the limit is reached.
 */
export async function hitRateLimit(
  redis: Redis,
  key: string,
  limit: number,
  windowSeconds: number,
): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
  const window = Math.floor(Date.now() / 1000 / windowSeconds);
  const windowKey = `${key}:${window}`;
  const result = await redis
    .multi()
    .incr(windowKey)
    .expire(windowKey, windowSeconds * 2)
    .exec();
  const count = Number(result?.[0]?.[1] ?? 0);
  const retryAfterSeconds = (window + 1) * windowSeconds - Math.floor(Date.now() / 1000);
  return { allowed: count <= limit, retryAfterSeconds };
}
