import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./test-server.ts";

describe("[API][READYZ]", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "airlock-readyz-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function readyz(overrides: Record<string, string>) {
    const server: TestServer = await startTestServer({ DATA_DIR: dataDir, SCANNER_PROVIDER: "clamav", ...overrides });
    try {
      const res = await fetch(`${server.url}/readyz`);
      return {
        status: res.status,
        body: (await res.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> },
      };
    } finally {
      await server.close();
    }
  }

  it("is ready when PostgreSQL, Redis, storage and clamd all answer", async () => {
    const { status, body } = await readyz({});
    expect(status).toBe(200);
    expect(body.status).toBe("ready");
    expect(Object.fromEntries(Object.entries(body.checks).map(([k, v]) => [k, v.ok]))).toEqual({
      database: true,
      redis: true,
      storage: true,
      scanner: true,
    });
  });

  it("answers 503 naming clamd when the scanner is unreachable", async () => {
    const { status, body } = await readyz({ CLAMAV_PORT: "1" });
    expect(status).toBe(503);
    expect(body.checks.scanner?.ok).toBe(false);
    expect(body.checks.database?.ok).toBe(true);
  });

  it("answers 503 naming Redis when Redis is unreachable", async () => {
    const { status, body } = await readyz({ REDIS_URL: "redis://127.0.0.1:1" });
    expect(status).toBe(503);
    expect(body.checks.redis?.ok).toBe(false);
    expect(body.checks.scanner?.ok).toBe(true);
  });
});
