import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedUser, startTestServer, type TestServer, trpcError } from "../test-server.ts";

describe("[API][WEBHOOKS]", () => {
  let server: TestServer;
  let guarded: TestServer;
  beforeAll(async () => {
    // Tests deliver to 127.0.0.1, which the SSRF guard refuses unless configured otherwise.
    server = await startTestServer({ WEBHOOK_ALLOW_PRIVATE_TARGETS: "true" });
    guarded = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
    await guarded.close();
  });

  it("administrators create, list, update, rotate, inspect, replay and delete endpoints; the secret is shown once", async () => {
    const admin = await seedUser("ADMIN");
    const api = server.client(admin.key);
    expect(await api.webhooks.events.query()).toContain("asset.quarantined");

    const { endpoint, secret } = await api.webhooks.create.mutate({ url: "http://127.0.0.1:9/hook", events: ["asset.quarantined"] });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    expect(endpoint).toMatchObject({ url: "http://127.0.0.1:9/hook", events: ["asset.quarantined"], active: true, failureCount: 0 });
    expect(endpoint).not.toHaveProperty("secret");
    const listed = (await api.webhooks.list.query()).find((e) => e.id === endpoint.id);
    expect(listed).toBeDefined();
    expect(listed).not.toHaveProperty("secret");

    const updated = await api.webhooks.update.mutate({ id: endpoint.id, events: ["asset.clean", "asset.failed"], active: false });
    expect(updated).toMatchObject({ events: ["asset.clean", "asset.failed"], active: false });
    expect(updated.disabledAt).not.toBeNull();
    const reactivated = await api.webhooks.update.mutate({ id: endpoint.id, active: true });
    expect(reactivated).toMatchObject({ active: true, failureCount: 0, disabledAt: null });

    const rotated = await api.webhooks.rotateSecret.mutate({ id: endpoint.id });
    expect(rotated.secret).not.toBe(secret);
    expect(rotated.endpoint.previousSecretExpiresAt).not.toBeNull();
    const stored = await server.db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    expect(stored).toMatchObject({ secret: rotated.secret, previousSecret: secret });

    // The delivery log and replay (the worker side of delivery is tested in the worker's tests).
    const original = await server.db.webhookDelivery.create({
      data: {
        endpointId: endpoint.id,
        event: "asset.clean",
        payload: { type: "asset.clean", data: { assetId: "a" } },
        status: "FAILED",
        attempt: 12,
        responseCode: 500,
      },
    });
    const replayed = await api.webhooks.replay.mutate({ deliveryId: original.id });
    expect(replayed).toMatchObject({
      endpointId: endpoint.id,
      event: "asset.clean",
      status: "PENDING",
      attempt: 0,
      payload: original.payload,
    });
    expect(await server.queues["webhook-delivery"].getJob(`${replayed.id}-1`)).toBeDefined();
    const log = await api.webhooks.deliveries.query({ endpointId: endpoint.id });
    expect(log.items.map((d) => d.id).sort()).toEqual([original.id, replayed.id].sort());
    expect((await api.webhooks.deliveries.query({ endpointId: endpoint.id, status: "FAILED" })).items.map((d) => d.id)).toEqual([
      original.id,
    ]);
    await server.queues["webhook-delivery"].remove(`${replayed.id}-1`);

    await api.webhooks.delete.mutate({ id: endpoint.id });
    expect((await trpcError(api.webhooks.get.query({ id: endpoint.id }))).data?.code).toBe("NOT_FOUND");
  });

  it("refuses private and loopback targets by default, and invalid input", async () => {
    const admin = await seedUser("ADMIN");
    const api = guarded.client(admin.key);
    for (const url of ["http://127.0.0.1:8080/hook", "http://169.254.169.254/", "http://[::1]/", "http://localhost/"]) {
      const error = await trpcError(api.webhooks.create.mutate({ url, events: [] }));
      expect(error.data?.code, url).toBe("BAD_REQUEST");
      expect(error.message).toMatch(/refused/);
    }
    expect((await trpcError(api.webhooks.create.mutate({ url: "https://example.com/", events: ["nope" as never] }))).data?.code).toBe(
      "BAD_REQUEST",
    );
  });

  it("is for administrators only", async () => {
    const user = await seedUser("USER");
    expect((await trpcError(server.client(user.key).webhooks.list.query())).data?.code).toBe("FORBIDDEN");
    expect((await trpcError(server.client().webhooks.list.query())).data?.code).toBe("UNAUTHORIZED");
  });
});
