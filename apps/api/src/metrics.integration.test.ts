import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedUser, startTestServer, type TestServer } from "./test-server.ts";
import { uploadFile } from "./test-upload-client.ts";

type Family = { name: string; metrics: Array<{ value?: string; labels?: Record<string, string> }> };

describe("[API][METRICS]", () => {
  let server: TestServer;
  let dataDir: string;
  const token = "prometheus-scrape-token-123";
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "airlock-metrics-"));
    server = await startTestServer({ DATA_DIR: dataDir, METRICS_TOKEN: token });
  });
  afterAll(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function scrape(authorization?: string) {
    const res = await fetch(`${server.url}/metrics`, { headers: authorization ? { authorization } : {} });
    return { res, families: res.ok ? (parsePrometheusTextFormat(await res.text()) as Family[]) : [] };
  }
  const value = (families: Family[], name: string, labels: Record<string, string>) =>
    Number(
      families.find((f) => f.name === name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ??
        Number.NaN,
    );

  it("refuses anonymous and non-admin scrapes; accepts METRICS_TOKEN and admin keys", async () => {
    expect((await scrape()).res.status).toBe(401);
    expect((await scrape(`Bearer ${(await seedUser("USER")).key}`)).res.status).toBe(401);
    expect((await scrape(`Bearer ${token}`)).res.status).toBe(200);
    expect((await scrape(`Bearer ${(await seedUser("ADMIN")).key}`)).res.status).toBe(200);
  });

  it("parses as Prometheus text and its figures match the database after a run of uploads", async () => {
    const { key } = await seedUser();
    const client = server.client(key);
    for (let i = 0; i < 3; i++) await uploadFile(client, Buffer.from(`file ${i}`), { filename: `m${i}.txt`, mimeType: "text/plain" });
    // Other suites share the database and may upload between a scrape and a query: compare until both agree.
    await expect
      .poll(async () => {
        const uploaded = await server.db.asset.aggregate({ where: { status: "UPLOADED" }, _count: true, _sum: { size: true } });
        const { families } = await scrape(`Bearer ${token}`);
        return [
          value(families, "airlock_assets", { status: "UPLOADED" }) - uploaded._count,
          value(families, "airlock_storage_bytes", { status: "UPLOADED" }) - Number(uploaded._sum.size),
        ];
      })
      .toEqual([0, 0]);
    const { families } = await scrape(`Bearer ${token}`);
    expect(value(families, "airlock_http_requests_total", { route: "/trpc/upload.initiate", method: "POST", status: "200" })).toBe(3);
    expect(value(families, "airlock_http_requests_total", { route: "/trpc/upload.confirm", method: "POST", status: "200" })).toBe(3);
    expect(value(families, "airlock_queue_jobs", { queue: "asset-virus-scan", state: "waiting" })).toBeGreaterThanOrEqual(3);
    expect(families.map((f) => f.name)).toEqual(
      expect.arrayContaining(["airlock_http_request_duration_seconds", "process_cpu_seconds_total"]),
    );
  });

  it("every airlock_* metric the deploy/ rules and dashboard use is exported", async () => {
    const { families } = await scrape(`Bearer ${token}`);
    const exported = new Set(families.map((f) => f.name));
    const used = ["../../../deploy/prometheus/airlock-alerts.yml", "../../../deploy/grafana/airlock-dashboard.json"].flatMap((file) =>
      [...readFileSync(new URL(file, import.meta.url), "utf8").matchAll(/airlock_[a-z_]+/g)].map((m) =>
        m[0].replace(/_(bucket|sum|count)$/, ""),
      ),
    );
    expect(used.length).toBeGreaterThan(5);
    expect([...new Set(used)].filter((name) => !exported.has(name))).toEqual([]);
  });
});
