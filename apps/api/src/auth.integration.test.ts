import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { revokeApiKey } from "./services/api-keys.ts";
import { seedUser, startTestServer, type TestServer, trpcError } from "./test-server.ts";

describe("[API][AUTH]", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("answers a valid key with its user and records lastUsedAt", async () => {
    const { user, key, keyId } = await seedUser();
    const me = await server.client(key).account.me.query();
    expect(me).toMatchObject({ id: user.id, email: user.email, role: "USER" });
    const row = await server.db.apiKey.findUniqueOrThrow({ where: { id: keyId } });
    expect(row.lastUsedAt).toBeInstanceOf(Date);
    expect(row.hash).not.toContain(key.slice(3, 20));
  });

  it("refuses a missing key with UNAUTHORIZED", async () => {
    const error = await trpcError(server.client().account.me.query());
    expect(error.data?.code).toBe("UNAUTHORIZED");
    expect(error.data?.httpStatus).toBe(401);
    expect(error.message).toMatch(/Authorization: Bearer/);
  });

  it("refuses malformed and unknown keys with UNAUTHORIZED", async () => {
    for (const key of ["nonsense", `ak_${"A".repeat(43)}`, `ak_${"A".repeat(44)}`]) {
      const error = await trpcError(server.client(key).account.me.query());
      expect(error.data?.code, key).toBe("UNAUTHORIZED");
    }
  });

  it("refuses a revoked key with UNAUTHORIZED", async () => {
    const { key, keyId } = await seedUser();
    expect(await server.client(key).account.me.query()).toBeTruthy();
    await revokeApiKey(server.db, { id: keyId });
    const error = await trpcError(server.client(key).account.me.query());
    expect(error.data?.code).toBe("UNAUTHORIZED");
    expect(error.message).toMatch(/revoked/);
  });

  it("refuses a non-admin on an admin procedure with FORBIDDEN, and lets an admin in", async () => {
    const plain = await seedUser("USER");
    const error = await trpcError(server.client(plain.key).admin.users.list.query());
    expect(error.data?.code).toBe("FORBIDDEN");
    expect(error.data?.httpStatus).toBe(403);
    const admin = await seedUser("ADMIN");
    const users = await server.client(admin.key).admin.users.list.query();
    expect(users.map((u) => u.id)).toContain(plain.user.id);
  });

  it("shows a new key once and lets its owner revoke it", async () => {
    const { key } = await seedUser();
    const created = await server.client(key).account.keys.create.mutate({ name: "ci" });
    expect(created.key).toMatch(/^ak_/);
    expect(await server.client(created.key).account.me.query()).toBeTruthy();
    const listed = await server.client(key).account.keys.list.query();
    expect(JSON.stringify(listed)).not.toContain(created.key);
    await server.client(key).account.keys.revoke.mutate({ id: created.id });
    expect((await trpcError(server.client(created.key).account.me.query())).data?.code).toBe("UNAUTHORIZED");
  });

  it("does not let a user revoke another user's key", async () => {
    const a = await seedUser();
    const b = await seedUser();
    const error = await trpcError(server.client(a.key).account.keys.revoke.mutate({ id: b.keyId }));
    expect(error.data?.code).toBe("NOT_FOUND");
    expect(await server.client(b.key).account.me.query()).toBeTruthy();
  });

  it("answers bad input with BAD_REQUEST and the field at fault", async () => {
    const admin = await seedUser("ADMIN");
    const error = await trpcError(server.client(admin.key).admin.users.create.mutate({ email: "not-an-email" }));
    expect(error.data?.code).toBe("BAD_REQUEST");
    expect(error.data?.fieldErrors).toHaveProperty("email");
    // A sentence naming the field, not Zod's JSON dump of the issues.
    expect(error.message).toMatch(/^email: /);
    expect(error.message).not.toContain("[");
  });
});

describe("[API][HTTP]", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ BODY_LIMIT_BYTES: "2048", CORS_ORIGINS: "http://allowed.test" });
  });
  afterAll(async () => {
    await server.close();
  });

  it("answers /healthz with security headers and a request id", async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });

  it("allows CORS only for configured origins", async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/trpc/account.me`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
    expect((await preflight("http://allowed.test")).headers.get("access-control-allow-origin")).toBe("http://allowed.test");
    expect((await preflight("http://evil.test")).headers.get("access-control-allow-origin")).toBeNull();
  });

  it("refuses a body over the limit with 413 before reading it", async () => {
    const { key } = await seedUser("ADMIN");
    const res = await fetch(`${server.url}/trpc/admin.users.create`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ email: "x@y.z", name: "n".repeat(5000) }),
    });
    expect(res.status).toBe(413);
  });

  it("closes the connection after a 413, so a keep-alive client's next request does not hit a dead socket", async () => {
    const { key } = await seedUser("ADMIN");
    // A body far over the limit: the server answers before reading it, then drops the socket.
    const tooBig = await fetch(`${server.url}/trpc/admin.users.create`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ email: "x@y.z", name: "n".repeat(1024 * 1024) }),
    });
    expect(tooBig.status).toBe(413);
    expect(tooBig.headers.get("connection")).toBe("close");
    await tooBig.text();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("answers malformed JSON with a 400 tRPC error", async () => {
    const { key } = await seedUser("ADMIN");
    const res = await fetch(`${server.url}/trpc/admin.users.create`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(400);
  });
});
