import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterEach, beforeEach } from "vitest";
import { LocalStorageDriver } from "./local.ts";

export const TEST_SECRET = "x".repeat(40);

/** For driver tests: a fresh data folder and driver per test (handed to `use`), removed after it. */
export function useTempDriver(use: (fresh: { dataDir: string; driver: LocalStorageDriver }) => void): void {
  let dataDir: string | undefined;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "airlock-local-"));
    use({ dataDir, driver: new LocalStorageDriver({ dataDir, publicUrl: "http://localhost:3000/", secret: TEST_SECRET }) });
  });
  afterEach(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
