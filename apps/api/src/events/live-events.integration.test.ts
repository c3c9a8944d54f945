import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AirlockEvent, eventsStreamKey, publishEvent } from "@airlock/shared/events";
import { createRedis } from "@airlock/shared/redis";
import { createTRPCClient, createWSClient, type TRPCClientError, wsLink } from "@trpc/client";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import type { AppRouter } from "../root.ts";
import { seedUser, startTestServer, type TestServer } from "../test-server.ts";

/** The id of the first event: what the client had seen when its socket was cut. */
const ids0 = (received: Received[]) => received[0]?.id;

type Received = { id: string; data: AirlockEvent | { type: "resync" } };

/** A tRPC WebSocket client the way the admin SPA makes one: the key in connectionParams. */
function connect(server: TestServer, key: string) {
  const wsClient = createWSClient({
    url: server.wsUrl,
    connectionParams: { apiKey: key },
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    retryDelayMs: () => 100,
  });
  const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient })] });
  return { wsClient, client };
}

/** Subscribes and collects what arrives; `started` resolves once the server has registered it. */
function subscribe(server: TestServer, key: string, path: "assets" | "admin" | "notifications", input?: { lastEventId?: string }) {
  const { wsClient, client } = connect(server, key);
  const received: Received[] = [];
  let onStarted!: () => void;
  let onError!: (error: TRPCClientError<AppRouter>) => void;
  const started = new Promise<void>((resolve) => {
    onStarted = resolve;
  });
  const failed = new Promise<TRPCClientError<AppRouter>>((resolve) => {
    onError = resolve;
  });
  const subscription = client.events[path].subscribe(input, {
    onStarted: () => onStarted(),
    onData: (data) => received.push(data as Received),
    onError: (error) => onError(error),
  });
  return {
    received,
    started,
    failed,
    wsClient,
    /** Waits until `n` events arrived (or fails after 5 s). */
    async waitFor(n: number) {
      const deadline = Date.now() + 5_000;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} events, got ${received.length}: ${JSON.stringify(received)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return received;
    },
    async close() {
      subscription.unsubscribe();
      await wsClient.close();
    },
  };
}

const statusEvent = (ownerId: string, status = "CLEAN"): Extract<AirlockEvent, { type: "asset.status" }> => ({
  type: "asset.status",
  assetId: randomUUID(),
  ownerId,
  status,
  at: new Date().toISOString(),
});

describe("[EVENTS] live events over WebSocket", () => {
  let a: TestServer;
  let b: TestServer;
  let publisher: Redis;
  let dataDir: string;
  let prefix: string;
  const publish = (event: AirlockEvent) => publishEvent(publisher, prefix, event);

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "airlock-events-"));
    // Two replicas of the API, as behind a load balancer; the publisher stands in for a worker.
    [a, b] = await Promise.all([startTestServer({ DATA_DIR: dataDir }), startTestServer({ DATA_DIR: dataDir })]);
    await Promise.all([a.live.hub.start(), b.live.hub.start()]);
    prefix = a.env.REDIS_PREFIX;
    publisher = createRedis(a.env.REDIS_URL, { maxRetriesPerRequest: 2 });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    publisher?.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("two API servers both relay an event published once", async () => {
    const { user, key } = await seedUser("USER");
    const onA = subscribe(a, key, "assets");
    const onB = subscribe(b, key, "assets");
    await Promise.all([onA.started, onB.started]);

    const event = statusEvent(user.id);
    const id = await publish(event);
    expect(id).toMatch(/^\d+-\d+$/);

    for (const sub of [onA, onB]) {
      const [first] = await sub.waitFor(1);
      expect(first).toEqual({ id, data: event });
    }
    // Exactly once each: nothing else arrives.
    await new Promise((r) => setTimeout(r, 150));
    expect(onA.received).toHaveLength(1);
    expect(onB.received).toHaveLength(1);
    await Promise.all([onA.close(), onB.close()]);
  });

  it("an owner receives only their own assets' events, and no cleanup or alert events", async () => {
    const alice = await seedUser("USER");
    const bob = await seedUser("USER");
    const sub = subscribe(a, alice.key, "assets");
    await sub.started;

    await publish(statusEvent(bob.user.id));
    await publish({ type: "asset.thumbnail", assetId: randomUUID(), ownerId: bob.user.id, at: new Date().toISOString() });
    await publish({
      type: "cleanup.completed",
      runId: randomUUID(),
      dryRun: false,
      bytesFreed: 1,
      errors: 0,
      at: new Date().toISOString(),
    });
    const mine = statusEvent(alice.user.id, "QUARANTINED");
    await publish(mine);

    // Published in this order on one channel: had Bob's arrived, it would have come first.
    const [first] = await sub.waitFor(1);
    expect(first?.data).toEqual(mine);
    await new Promise((r) => setTimeout(r, 150));
    expect(sub.received).toHaveLength(1);
    await sub.close();
  });

  it("events.notifications carries only the caller's own notification events", async () => {
    const alice = await seedUser("USER");
    const bob = await seedUser("USER");
    const sub = subscribe(a, alice.key, "notifications");
    await sub.started;
    const at = new Date().toISOString();
    await publish({ type: "notification.created", userId: bob.user.id, notificationType: "asset.clean", at });
    await publish(statusEvent(alice.user.id));
    const mine: AirlockEvent = { type: "notification.created", userId: alice.user.id, notificationType: "asset.quarantined", at };
    await publish(mine);

    const [first] = await sub.waitFor(1);
    expect(first?.data).toEqual(mine);
    await new Promise((r) => setTimeout(r, 150));
    expect(sub.received).toHaveLength(1);
    await sub.close();
  });

  it("a non-admin cannot subscribe to events.admin; an admin sees everything", async () => {
    const plain = await seedUser("USER");
    const refused = subscribe(a, plain.key, "admin");
    const error = await refused.failed;
    expect(error.data?.code).toBe("FORBIDDEN");
    await refused.close();

    const admin = await seedUser("ADMIN");
    const sub = subscribe(b, admin.key, "admin");
    await sub.started;
    const someone = statusEvent(plain.user.id);
    const cleanup: AirlockEvent = {
      type: "cleanup.completed",
      runId: randomUUID(),
      dryRun: true,
      bytesFreed: 0,
      errors: 0,
      at: new Date().toISOString(),
    };
    await publish(someone);
    await publish(cleanup);
    const received = await sub.waitFor(2);
    expect(received.map((r) => r.data)).toEqual([someone, cleanup]);
    await sub.close();
  });

  it("without a valid key a subscription is refused with UNAUTHORIZED", async () => {
    const sub = subscribe(a, `ak_${"x".repeat(43)}`, "assets");
    expect((await sub.failed).data?.code).toBe("UNAUTHORIZED");
    await sub.close();
  });

  it("a client that reconnects with its last event id receives exactly what it missed", async () => {
    const { user, key } = await seedUser("USER");
    const sub = subscribe(a, key, "assets");
    await sub.started;
    const first = statusEvent(user.id, "SCANNING");
    await publish(first);
    await sub.waitFor(1);

    // Cut the socket, publish while it is down, and let tRPC's client reconnect by itself: it sends the
    // last id it saw, and the server replays the rest from the Redis stream before going live again.
    const reconnected = new Promise<void>((resolve) => {
      const seen = sub.wsClient.connectionState.subscribe({
        next: (state) => {
          if (state.state === "connecting") {
            seen.unsubscribe();
            resolve();
          }
        },
      });
    });
    const replay = vi.spyOn(a.live.hub, "replay");
    sub.wsClient.connection?.ws.close();
    await reconnected;
    const missed = [statusEvent(user.id, "CLEAN"), { type: "asset.thumbnail", assetId: first.assetId, ownerId: user.id, at: "x" } as const];
    for (const event of missed) await publish(event);
    await publish(statusEvent(randomUUID())); // someone else's, never delivered
    const after = statusEvent(user.id, "DELETED");

    const received = await sub.waitFor(3);
    await publish(after);
    await sub.waitFor(4);
    expect(sub.received.map((r) => r.data)).toEqual([first, ...missed, after]);
    expect(replay).toHaveBeenCalledWith(ids0(sub.received));
    // Ids strictly increase: nothing twice.
    const ids = sub.received.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(received[0]?.id).toBe(ids[0]);
    await sub.close();
  });

  it("an explicit lastEventId replays from the stream on any replica; a trimmed one asks for a resync", async () => {
    const { user, key } = await seedUser("USER");
    const e1 = statusEvent(user.id, "UPLOADED");
    const e2 = statusEvent(user.id, "SCANNING");
    const id1 = await publish(e1);
    const id2 = await publish(e2);
    // Subscribed on the other replica, from id1: e2 comes from the stream, then live ones follow.
    const sub = subscribe(b, key, "assets", { lastEventId: id1! });
    await sub.started;
    const [replayed] = await sub.waitFor(1);
    expect(replayed).toEqual({ id: id2, data: e2 });
    const e3 = statusEvent(user.id, "CLEAN");
    await publish(e3);
    expect((await sub.waitFor(2))[1]?.data).toEqual(e3);
    await sub.close();

    const stale = subscribe(a, key, "assets", { lastEventId: "1-0" });
    const [resync] = await stale.waitFor(1);
    expect(resync?.data.type).toBe("resync");
    await stale.close();
  });

  it("the replay stream stays bounded (XADD MAXLEN ~ 1000)", async () => {
    const nobody = randomUUID();
    for (let i = 0; i < 1_500; i++) await publish(statusEvent(nobody));
    const length = await publisher.xlen(eventsStreamKey(prefix));
    // "~" trims whole macro nodes (100 entries by default), so a little over 1000 is expected.
    expect(length).toBeGreaterThanOrEqual(1_000);
    expect(length).toBeLessThan(1_200);
  });
});
