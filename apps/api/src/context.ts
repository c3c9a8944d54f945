import type { PrismaClient } from "@airlock/db";
import type { Env } from "@airlock/shared/env";
import type { Logger } from "@airlock/shared/logger";
import type { Metrics } from "@airlock/shared/metrics";
import type { Queues } from "@airlock/shared/queue-client";
import type { VirusScanner } from "@airlock/shared/scanner";
import type { StorageDriver } from "@airlock/shared/storage";
import type { Redis } from "ioredis";
import type { AuthenticatedUser } from "./services/api-keys.ts";

/** Everything a request handler may use; built once per process, shared by every request. */
export interface AppDeps {
  env: Env;
  db: PrismaClient;
  redis: Redis;
  log: Logger;
  storage: StorageDriver;
  queues: Queues;
  /** Used by the API for readiness only; scanning happens in the worker. */
  scanner: VirusScanner;
  metrics: Metrics;
}

/** Per-request context of tRPC procedures and REST handlers. */
export interface RequestContext extends AppDeps {
  requestId: string;
  /** The raw Authorization header; `authedProcedure` resolves it to a user (or UNAUTHORIZED). */
  authorization: string | undefined;
  /** Set by `authedProcedure`; null in public procedures. */
  user: AuthenticatedUser | null;
}
