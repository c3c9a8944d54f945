import type { PrismaClient } from "@airlock/db";
import type { Redis } from "ioredis";
import type { Logger } from "pino";

/** What the analytics queries and `rebuild` use; the API's request context fits as it is. */
export interface AnalyticsDeps {
  db: PrismaClient;
  redis: Redis;
  env: { REDIS_PREFIX: string };
  log?: Pick<Logger, "warn" | "info"> | undefined;
  /** Seconds an answer is cached in Redis; default {@link ANALYTICS_CACHE_SECONDS}, 0 turns caching off. */
  analyticsCacheSeconds?: number | undefined;
}

/** Answers may be this many seconds old (they are cached per query and range, shared by every replica). */
export const ANALYTICS_CACHE_SECONDS = 10;
