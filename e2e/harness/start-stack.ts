import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { createTempDatabase } from "@airlock/db/testing";
import { deleteKeysWithPrefix } from "@airlock/shared/redis";
import { destroyBucketForTests, S3StorageDriver } from "@airlock/shared/storage";
import { Redis } from "ioredis";
import { onCleanup } from "./cleanup.ts";
import { ADMIN_DIR, ADMIN_DIST_DIR, REPO_ROOT } from "./paths.ts";
import { type ManagedProcess, startProcess } from "./processes.ts";
import type { StackInfo } from "./stack.ts";

const exec = promisify(execFile);
const BASE_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const HEALTH_TIMEOUT_MS = 60_000;
const BUCKET_TIMEOUT_MS = 20_000;
/** What `npx tsx` runs, minus npx's half second of start-up per call. */
const TSX = join(REPO_ROOT, "node_modules/.bin/tsx");

const USERS = {
  admin: { email: "admin@e2e.test", admin: true },
  user: { email: "user@e2e.test", admin: false },
} as const;

/** Which storage the stack's API and worker use: the local driver, or a bucket of its own on the Ceph RGW. */
export type StackStorage = "local" | "s3";

/**
 * Starts one stack from scratch: a throwaway migrated database, its own Redis key prefix, a temp
 * DATA_DIR (and for `s3` a bucket of its own on the RGW that scripts/services.sh starts), two seeded
 * users with keys made by the operator CLI, the built admin SPA and the API + worker on a free port.
 * Everything it creates registers its undo with onCleanup (harness/cleanup.ts) in the calling process.
 */
export async function startStack(storage: StackStorage = "local"): Promise<StackInfo> {
  const started = performance.now();
  const tag = storage === "local" ? "" : `[${storage}] `;
  const step = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const result = await run();
    log(`${tag}${label} (${ms(t0)})`);
    return result;
  };

  const db = await step("database created and migrated", () =>
    createTempDatabase(BASE_DATABASE_URL, { migrate: true, label: storage === "local" ? "e2e" : `e2e-${storage}` }),
  );
  onCleanup(`drop database ${db.name}`, () => db.drop());

  const redisPrefix = `airlock-e2e-${randomBytes(4).toString("hex")}`;
  onCleanup(`delete Redis keys ${redisPrefix}`, () => deleteRedisKeys(REDIS_URL, redisPrefix));

  const dataDir = mkdtempSync(join(tmpdir(), "airlock-e2e-"));
  onCleanup(`remove ${dataDir}`, async () => rmSync(dataDir, { recursive: true, force: true }));

  const env: Record<string, string> = {
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    DATA_DIR: dataDir,
    ...(storage === "s3" ? s3Env(redisPrefix) : { STORAGE_DRIVER: "local" }),
    // The real engine, as in production: scripts/services.sh starts clamd with the test signatures.
    SCANNER_PROVIDER: "clamav",
    // clamd's StreamMaxLength there (scripts/services/clamd.conf.in): the client stops at it and calls the
    // file unscannable itself, instead of racing clamd's close (EPIPE, then retries) on the 60 MiB upload.
    CLAMAV_STREAM_MAX_LENGTH: String(25 * 1024 * 1024),
    NO_COLOR: "1",
    WORKER_METRICS_PORT: "0",
    // The webhook specs run their receiver in the test process, on 127.0.0.1.
    WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
  };
  if (storage === "s3") {
    // Made (with the CORS rules browsers need) before the API starts, which sets them again; teardown removes it.
    onCleanup(`remove bucket ${env.S3_BUCKET}`, () => destroyBucketForTests(s3Driver(env)));
  }

  // The CLI runs and the build are independent of each other: overlap them.
  const [adminKey, userKey] = await Promise.all([
    step("users seeded", () => Promise.all([createUser(USERS.admin, env), createUser(USERS.user, env)])),
    step("admin SPA up to date", () => ensureAdminBuilt()),
  ]).then(([keys]) => keys);

  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const serviceEnv = { ...env, HOST: "127.0.0.1", PORT: String(port), PUBLIC_URL: baseUrl, ADMIN_DIST_DIR: ADMIN_DIST_DIR };
  if (storage === "s3") await step("bucket ready", () => prepareBucket(env, baseUrl));
  const suffix = storage === "local" ? "" : `-${storage}`;
  startProcess(`worker${suffix}`, [TSX, "apps/worker/src/main.ts"], serviceEnv);
  const api = startProcess(`api${suffix}`, [TSX, "apps/api/src/main.ts"], serviceEnv);
  await step(`API healthy at ${baseUrl}`, () => waitForHealth(api, baseUrl));
  // A fresh API answers its first page and calls slowly (modules load on first use): pay that here,
  // not inside the first spec's 5 s expectations.
  await step("API warmed up", () => warmUp(baseUrl, userKey));
  log(`${tag}stack ready in ${ms(started)}`);

  return {
    baseUrl,
    admin: { email: USERS.admin.email, key: adminKey },
    user: { email: USERS.user.email, key: userKey },
    databaseUrl: db.url,
    redisUrl: REDIS_URL,
    redisPrefix,
    storage,
  };
}

/**
 * Creates the stack's bucket before the API does, with a deadline: an RGW that cannot write (its
 * 1 GiB memstore OSD full, say) otherwise hangs the API's start-up silently until the health timeout.
 */
async function prepareBucket(env: Record<string, string>, origin: string): Promise<void> {
  const driver = s3Driver(env);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `the S3 endpoint ${env.S3_ENDPOINT} did not create bucket ${env.S3_BUCKET} within ${BUCKET_TIMEOUT_MS / 1000} s: ` +
              "is the RGW up and its OSD not full? (`bash scripts/services.sh status`, `ceph -c /tmp/airlock-services/ceph/ceph.conf -s`)",
          ),
        ),
      BUCKET_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([driver.ensureBucket([origin]), deadline]);
  } finally {
    clearTimeout(timer);
    driver.client.destroy();
  }
}

/** The Ceph RGW of scripts/services.sh (keys as in test/storage-drivers.ts), one bucket per stack. */
function s3Env(bucket: string): Record<string, string> {
  return {
    STORAGE_DRIVER: "s3",
    S3_ENDPOINT: process.env.TEST_S3_ENDPOINT ?? "http://127.0.0.1:7480",
    S3_ACCESS_KEY_ID: process.env.TEST_S3_ACCESS_KEY ?? "airlock-test",
    S3_SECRET_ACCESS_KEY: process.env.TEST_S3_SECRET_KEY ?? "airlock-test-secret",
    S3_BUCKET: bucket,
  };
}

function s3Driver(env: Record<string, string>): S3StorageDriver {
  return new S3StorageDriver({
    endpoint: env.S3_ENDPOINT,
    region: "us-east-1",
    bucket: env.S3_BUCKET ?? "",
    accessKeyId: env.S3_ACCESS_KEY_ID ?? "",
    secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? "",
    forcePathStyle: true,
  });
}

/** `users:create` prints the new user's key, and nothing else, on stdout. */
async function createUser(user: { email: string; admin: boolean }, env: Record<string, string>): Promise<string> {
  const args = ["apps/api/src/cli.ts", "users:create", "--email", user.email, ...(user.admin ? ["--admin"] : [])];
  const { stdout } = await exec(TSX, args, { cwd: REPO_ROOT, env: { ...process.env, ...env } }).catch((error: { stderr?: string }) => {
    throw new Error(`seeding ${user.email} failed:\n${error.stderr ?? String(error)}`);
  });
  const key = stdout.trim();
  if (!/^ak_\S+$/.test(key)) throw new Error(`users:create for ${user.email} printed no key: ${JSON.stringify(stdout)}`);
  return key;
}

/** Rebuilds apps/admin/dist when it is missing or older than any of its sources. */
async function ensureAdminBuilt(): Promise<void> {
  const builtAt = mtime(join(ADMIN_DIST_DIR, "index.html"));
  const sources = ["index.html", "vite.config.ts", "package.json", "tsconfig.json", "src", "public"].map((p) => join(ADMIN_DIR, p));
  if (builtAt !== undefined && Math.max(...sources.map(newestMtime)) <= builtAt) return;
  log("building the admin SPA (apps/admin/dist is missing or stale)");
  await exec("npm", ["run", "build", "-w", "@airlock/admin"], { cwd: REPO_ROOT }).catch((error: { stdout?: string; stderr?: string }) => {
    throw new Error(`admin build failed:\n${error.stdout ?? ""}${error.stderr ?? String(error)}`);
  });
}

function mtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function newestMtime(path: string): number {
  const stat = mtime(path);
  if (stat === undefined) return 0;
  if (!statSync(path).isDirectory()) return stat;
  return Math.max(stat, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/** A port nobody listens on right now (the API binds it a moment later; a collision fails loudly). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitForHealth(service: ManagedProcess, baseUrl: string): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let exitCode: number | string | null | undefined;
  void service.exited.then((code) => {
    exitCode = code;
  });
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(`${service.name} exited (${exitCode}) before it was healthy:\n${await service.logTail()}`);
    }
    const status = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(200);
  }
  throw new Error(`${service.name} not healthy after ${HEALTH_TIMEOUT_MS / 1000} s (${service.logFile}):\n${await service.logTail()}`);
}

async function warmUp(baseUrl: string, key: string): Promise<void> {
  const headers = { Authorization: `Bearer ${key}` };
  await Promise.all(
    ["/", "/trpc/account.me", "/trpc/upload.config", "/trpc/upload.list"].map((path) =>
      fetch(`${baseUrl}${path}`, { headers, signal: AbortSignal.timeout(20_000) }).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      ),
    ),
  );
}

async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

function log(message: string): void {
  process.stderr.write(`[e2e] ${message}\n`);
}

function ms(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}
