import type { PrismaClient } from "@airlock/db";
import type { Env } from "@airlock/shared/env";
import type { Logger } from "@airlock/shared/logger";
import type { Metrics } from "@airlock/shared/metrics";
import type { Queues } from "@airlock/shared/queue-client";
import type { VirusScanner } from "@airlock/shared/scanner";
import type { StorageDriver } from "@airlock/shared/storage";
import type { Redis } from "ioredis";

/** What every processor may use; built once per worker process. */
export interface WorkerContext {
  env: Env;
  db: PrismaClient;
  redis: Redis;
  queues: Queues;
  log: Logger;
  storage: StorageDriver;
  scanner: VirusScanner;
  metrics: Metrics;
}
