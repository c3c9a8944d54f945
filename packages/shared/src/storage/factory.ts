import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Env } from "../env.ts";
import type { StorageDriver } from "./driver.ts";
import { LocalStorageDriver } from "./local.ts";
import { S3StorageDriver } from "./s3.ts";

/** Builds the one storage driver of a process from the validated env. */
export function createStorage(env: Env): StorageDriver {
  if (env.STORAGE_DRIVER === "s3") return createS3Storage(env);
  return new LocalStorageDriver({ dataDir: resolve(env.DATA_DIR), publicUrl: env.PUBLIC_URL, secret: localSigningSecret(env) });
}

export function createS3Storage(env: Env): S3StorageDriver {
  return new S3StorageDriver({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    bucket: env.S3_BUCKET,
    accessKeyId: env.S3_ACCESS_KEY_ID ?? "",
    secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? "",
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
  });
}

/**
 * The local driver's HMAC secret: STORAGE_SIGNING_SECRET when set (required in production), otherwise
 * one generated on first use and kept in DATA_DIR (mode 600), so the API and worker processes of an
 * embedded set-up agree without configuration and URLs stay valid across restarts.
 */
export function localSigningSecret(env: Env): string {
  if (env.STORAGE_SIGNING_SECRET) return env.STORAGE_SIGNING_SECRET;
  const dir = resolve(env.DATA_DIR);
  const file = join(dir, ".signing-secret");
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    mkdirSync(dir, { recursive: true });
    try {
      // "wx": if another process created it first, read theirs instead of overwriting it.
      writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" });
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
    }
    return readFileSync(file, "utf8").trim();
  }
}
