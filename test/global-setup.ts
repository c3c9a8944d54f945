import { randomBytes } from "node:crypto";
import { createTempDatabase } from "@airlock/db/testing";
import { deleteKeysWithPrefix } from "@airlock/shared/redis";
import { Redis } from "ioredis";
import type { TestProject } from "vitest/node";

/**
 * One database and one Redis key prefix per test run, so runs are independent of each other and of
 * a developer's own data; both are removed at the end.
 */
const baseDatabaseUrl = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export default async function setup(project: TestProject) {
  const db = await createTempDatabase(baseDatabaseUrl);
  const redisPrefix = `airlock-test-${randomBytes(4).toString("hex")}`;
  project.provide("databaseUrl", db.url);
  project.provide("redisUrl", redisUrl);
  project.provide("redisPrefix", redisPrefix);
  return async () => {
    await db.drop();
    const redis = new Redis(redisUrl);
    try {
      await deleteKeysWithPrefix(redis, redisPrefix);
    } finally {
      redis.disconnect();
    }
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    redisPrefix: string;
  }
}
