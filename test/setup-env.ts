import { inject } from "vitest";

// Point every module that reads the validated env at this run's own database and Redis prefix.
process.env.NODE_ENV = "test";
process.env.DATABASE_URL = inject("databaseUrl");
process.env.REDIS_URL = inject("redisUrl");
process.env.REDIS_PREFIX = inject("redisPrefix");
process.env.LOG_LEVEL ??= "silent";
