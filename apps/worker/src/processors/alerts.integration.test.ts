import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestWorkerContext } from "../test-worker.ts";
import { alertsRegistration } from "./alerts.ts";

describe("[ALERTS][ANNOUNCE] a transition is announced even when the worker stopped right after saving it", () => {
  let worker: Awaited<ReturnType<typeof createTestWorkerContext>>;
  beforeAll(async () => {
    worker = await createTestWorkerContext();
  });
  afterAll(async () => {
    await worker.close();
  });

  const evaluate = () => alertsRegistration.process({ data: {} } as never, worker.ctx, undefined);

  it.each([
    ["fired", "FIRING"],
    ["resolved", "RESOLVED"],
  ] as const)("an unannounced %s transition is announced by the next evaluation, once", async (kind, state) => {
    const { db, queues } = worker.ctx;
    const admin = await db.user.create({ data: { email: `admin-${randomUUID()}@test.local`, role: "ADMIN" } });
    // As a worker killed between saving the transition and announcing it leaves it (a rule no evaluation
    // touches, so only the announcement path runs).
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    const alert = await db.alert.create({
      data: {
        rule: `test_unannounced_${randomUUID()}`,
        severity: "CRITICAL",
        state,
        value: 3,
        threshold: 1,
        firedAt: twoMinutesAgo,
        resolvedAt: state === "RESOLVED" ? twoMinutesAgo : null,
        announcePending: true,
      },
    });

    expect(await evaluate()).toBe("success");
    const rows = () => db.notification.findMany({ where: { userId: admin.id, type: `alert.${kind}` } });
    expect((await rows()).map((n) => [n.occurrence, (n.payload as { alertId?: string }).alertId])).toEqual([
      [`${alert.id}-${kind}`, alert.id],
    ]);
    expect(await queues.notifications.getJob(`alert.${kind}-${alert.id}-${kind}`)).toBeDefined();
    expect((await db.alert.findUniqueOrThrow({ where: { id: alert.id } })).announcePending).toBe(false);

    await evaluate();
    expect(await rows()).toHaveLength(1);
    await db.alert.delete({ where: { id: alert.id } });
  });

  it("a transition only just saved is left to the evaluation that saved it", async () => {
    const { db } = worker.ctx;
    const admin = await db.user.create({ data: { email: `admin-${randomUUID()}@test.local`, role: "ADMIN" } });
    const alert = await db.alert.create({
      data: { rule: `test_fresh_${randomUUID()}`, severity: "WARNING", state: "FIRING", value: 1, threshold: 0, announcePending: true },
    });
    await evaluate();
    expect(await db.notification.count({ where: { userId: admin.id, occurrence: `${alert.id}-fired` } })).toBe(0);
    expect((await db.alert.findUniqueOrThrow({ where: { id: alert.id } })).announcePending).toBe(true);
    await db.alert.delete({ where: { id: alert.id } });
  });
});
