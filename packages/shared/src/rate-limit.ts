import type { Redis } from "ioredis";

/** How long a rate-limit check may wait for Redis before the caller is told to retry (a 503, not a hang). */
export const RATE_LIMIT_DEADLINE_MS = 1000;

/**
 * Fixed-window counter in Redis: cheap, shared by every API replica, and exact enough for abuse
 * limits. Returns how long to wait when the limit is reached. Rejects after `deadlineMs` while Redis is
 * unreachable: ioredis would otherwise hold the command through its reconnect backoff (10 s and more).
 */
export async function hitRateLimit(
  redis: Redis,
  key: string,
  limit: number,
  windowSeconds: number,
  deadlineMs = RATE_LIMIT_DEADLINE_MS,
): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
  const window = Math.floor(Date.now() / 1000 / windowSeconds);
  const windowKey = `${key}:${window}`;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer the rate-limit check within ${deadlineMs} ms`)), deadlineMs);
  });
  const counted = redis
    .multi()
    .incr(windowKey)
    .expire(windowKey, windowSeconds * 2)
    .exec();
  counted.catch(() => {}); // after the deadline its failure has no one to tell
  const result = await Promise.race([counted, deadline]).finally(() => clearTimeout(timer));
  const count = Number(result?.[0]?.[1] ?? 0);
  const retryAfterSeconds = (window + 1) * windowSeconds - Math.floor(Date.now() / 1000);
  return { allowed: count <= limit, retryAfterSeconds };
}
