import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getEnv } from "@airlock/shared/env";

/**
 * The two storage drivers as env overrides for integration tests: a fresh folder for `local`, and a
 * bucket of the suite's own on the Ceph RGW that scripts/services.sh starts for `s3` (so one suite's
 * objects never show up in another's listings).
 */
export const storageDrivers = [
  {
    name: "local",
    env: async (): Promise<Record<string, string>> => ({ STORAGE_DRIVER: "local", DATA_DIR: await mkdtemp(join(tmpdir(), "airlock-")) }),
  },
  { name: "s3", env: async (bucketSuffix = "uploads"): Promise<Record<string, string>> => s3Env(bucketSuffix) },
] as const;

export function s3Env(bucketSuffix: string): Record<string, string> {
  return {
    STORAGE_DRIVER: "s3",
    S3_ENDPOINT: process.env.TEST_S3_ENDPOINT ?? "http://127.0.0.1:7480",
    S3_ACCESS_KEY_ID: process.env.TEST_S3_ACCESS_KEY ?? "airlock-test",
    S3_SECRET_ACCESS_KEY: process.env.TEST_S3_SECRET_KEY ?? "airlock-test-secret",
    S3_BUCKET: `${getEnv().REDIS_PREFIX}-${bucketSuffix}`,
  };
}
