import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedUser, startTestServer, type TestServer } from "../test-server.ts";

describe("[API][NOTIFICATIONS]", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("lists the caller's own notifications with an unread count; markRead and markAllRead", async () => {
    const me = await seedUser("USER");
    const other = await seedUser("USER");
    for (const i of [1, 2, 3]) {
      await server.db.notification.create({
        data: { userId: me.user.id, type: "asset.clean", payload: { i }, createdAt: new Date(Date.now() - (10 - i) * 1000) },
      });
    }
    const theirs = await server.db.notification.create({ data: { userId: other.user.id, type: "asset.clean", payload: {} } });
    const api = server.client(me.key);

    const all = await api.notifications.list.query();
    expect(all.unreadCount).toBe(3);
    expect(all.items.map((n) => (n.payload as { i: number }).i)).toEqual([3, 2, 1]);
    const page = await api.notifications.list.query({ limit: 2 });
    expect(page.items).toHaveLength(2);
    const rest = await api.notifications.list.query({ limit: 2, cursor: page.nextCursor });
    expect(rest.items.map((n) => (n.payload as { i: number }).i)).toEqual([1]);
    expect(rest.nextCursor).toBeUndefined();

    const newest = all.items[0];
    if (!newest) throw new Error("no notification");
    // Someone else's id is ignored, not revealed.
    expect(await api.notifications.markRead.mutate({ ids: [newest.id, theirs.id] })).toEqual({ count: 1 });
    expect((await server.db.notification.findUniqueOrThrow({ where: { id: theirs.id } })).readAt).toBeNull();
    const unread = await api.notifications.list.query({ unreadOnly: true });
    expect(unread.unreadCount).toBe(2);
    expect(unread.items.map((n) => n.id)).not.toContain(newest.id);

    expect(await api.notifications.markAllRead.mutate()).toEqual({ count: 2 });
    expect((await api.notifications.list.query()).unreadCount).toBe(0);
    expect((await server.client(other.key).notifications.list.query()).unreadCount).toBe(1);
  });

  it("stores the email opt-out preference", async () => {
    const me = await seedUser("USER");
    const api = server.client(me.key);
    expect(await api.notifications.preferences.query()).toEqual({ emailOptOut: false });
    expect(await api.notifications.updatePreferences.mutate({ emailOptOut: true })).toEqual({ emailOptOut: true });
    expect((await server.db.user.findUniqueOrThrow({ where: { id: me.user.id } })).emailOptOut).toBe(true);
  });
});
