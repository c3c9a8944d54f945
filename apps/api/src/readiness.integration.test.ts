import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, connect, createServer } from "node:net";
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

  it("turns 503 when its Redis stops and recovers when it comes back", async () => {
    const port = 16_000 + Math.floor(Math.random() * 2000);
    const startRedis = () =>
      spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    let redis = startRedis();
    const server: TestServer = await startTestServer({ DATA_DIR: dataDir, REDIS_URL: `redis://127.0.0.1:${port}` });
    const status = async () => (await fetch(`${server.url}/readyz`)).status;
    try {
      await expect.poll(status, { timeout: 10_000 }).toBe(200);
      redis.kill("SIGKILL");
      await once(redis, "exit");
      await expect.poll(status, { timeout: 10_000 }).toBe(503);
      redis = startRedis();
      await expect.poll(status, { timeout: 15_000 }).toBe(200);
    } finally {
      redis.kill("SIGKILL");
      await server.close();
    }
  });

  it("turns 503 when clamd stops answering and recovers when it is back", async () => {
    // A TCP relay in front of the real clamd stands in for stopping and starting the daemon.
    let up = true;
    const relay = createServer((client) => {
      if (!up) return client.destroy();
      const upstream = connect(3310, "127.0.0.1");
      client.pipe(upstream).pipe(client);
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
    const port = (relay.address() as AddressInfo).port;
    const server: TestServer = await startTestServer({ DATA_DIR: dataDir, SCANNER_PROVIDER: "clamav", CLAMAV_PORT: String(port) });
    const readyz = async () => (await (await fetch(`${server.url}/readyz`)).json()) as { checks: { scanner: { ok: boolean } } };
    try {
      expect((await readyz()).checks.scanner.ok).toBe(true);
      up = false;
      expect((await readyz()).checks.scanner.ok).toBe(false);
      up = true;
      expect((await readyz()).checks.scanner.ok).toBe(true);
    } finally {
      await server.close();
      relay.close();
    }
  });
});
