import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedUser, startTestServer, type TestServer, trpcError } from "../test-server.ts";

describe("[API][ALERTS]", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("lists firing and resolved alerts to administrators only", async () => {
    const rule = `test_rule_${crypto.randomUUID()}`;
    await server.db.alert.create({ data: { rule, severity: "WARNING", state: "FIRING", value: 0.9, threshold: 0.95 } });
    const admin = await seedUser("ADMIN");
    const firing = await server.client(admin.key).alerts.list.query({ state: "FIRING" });
    expect(firing.find((a) => a.rule === rule)).toMatchObject({ value: 0.9, threshold: 0.95, state: "FIRING" });
    expect(await server.client(admin.key).alerts.firingCount.query()).toBeGreaterThanOrEqual(1);
    const user = await seedUser("USER");
    expect((await trpcError(server.client(user.key).alerts.list.query({}))).data?.code).toBe("FORBIDDEN");
  });
});
