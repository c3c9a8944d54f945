import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedUser, startTestServer, type TestServer, trpcError } from "../test-server.ts";

describe("[API][ASSETS] admin.assets.history", () => {
  let server: TestServer;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "airlock-asset-history-"));
    server = await startTestServer({ DATA_DIR: dataDir });
  });
  afterAll(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A quarantined asset with its upload events (out of insertion order) and one security event. */
  async function seedQuarantined(ownerId: string) {
    const id = randomUUID();
    await server.db.asset.create({
      data: {
        id,
        ownerId,
        originalName: "eicar.txt",
        safeName: "eicar.txt",
        storageKey: `uploads/${ownerId}/${id}`,
        declaredMime: "text/plain",
        declaredSize: 68n,
        size: 68n,
        status: "QUARANTINED",
        threats: ["Eicar-Test-Signature"],
      },
    });
    const t0 = Date.now() - 60_000;
    await server.db.uploadEvent.createMany({
      data: [
        { type: "QUARANTINED", assetId: id, userId: ownerId, reason: "Eicar-Test-Signature", at: new Date(t0 + 3_000) },
        { type: "INITIATED", assetId: id, userId: ownerId, mime: "text/plain", size: 68n, at: new Date(t0) },
        { type: "CONFIRMED", assetId: id, userId: ownerId, mime: "text/plain", size: 68n, at: new Date(t0 + 1_000) },
        { type: "SCANNED", assetId: id, userId: ownerId, durationMs: 42, engine: "clamav", at: new Date(t0 + 2_000) },
      ],
    });
    await server.db.securityEvent.create({
      data: { type: "virus_detected", severity: "CRITICAL", assetId: id, userId: ownerId, details: { threats: ["Eicar-Test-Signature"] } },
    });
    return id;
  }

  it("lists the asset's upload events and security events, oldest first", async () => {
    const owner = await seedUser("USER");
    const admin = await seedUser("ADMIN");
    const assetId = await seedQuarantined(owner.user.id);
    const history = await server.client(admin.key).admin.assets.history.query({ assetId });
    expect(history.events.map((e) => e.type)).toEqual(["INITIATED", "CONFIRMED", "SCANNED", "QUARANTINED"]);
    expect(history.events[0]).toMatchObject({ mime: "text/plain", size: 68 });
    expect(history.events[2]).toMatchObject({ durationMs: 42, engine: "clamav" });
    expect(history.events[3]).toMatchObject({ reason: "Eicar-Test-Signature" });
    expect(history.securityEvents).toEqual([
      expect.objectContaining({ type: "virus_detected", severity: "CRITICAL", details: { threats: ["Eicar-Test-Signature"] } }),
    ]);
  });

  it("is for administrators only, and an unknown asset is NOT_FOUND", async () => {
    const owner = await seedUser("USER");
    const assetId = await seedQuarantined(owner.user.id);
    expect((await trpcError(server.client(owner.key).admin.assets.history.query({ assetId }))).data?.code).toBe("FORBIDDEN");
    const admin = await seedUser("ADMIN");
    expect((await trpcError(server.client(admin.key).admin.assets.history.query({ assetId: randomUUID() }))).data?.code).toBe("NOT_FOUND");
  });
});
