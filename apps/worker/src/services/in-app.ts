import { publishEvent } from "@airlock/shared/events";
import type { WorkerContext } from "../context.ts";

/**
 * In-app notifications: one row per user for one occurrence (unique per user and occurrence, so a
 * repeat writes nothing), then a `notification.created` event for the users' open tabs (the bell; a
 * lost event only delays the bell to its next poll). Raw SQL, not createMany: Prisma 7 compiles every
 * createMany afresh (~4 ms of CPU each).
 */
export async function notifyInApp(
  ctx: Pick<WorkerContext, "db" | "redis" | "env">,
  userIds: readonly string[],
  notification: { type: string; occurrence: string; payload: Record<string, unknown> },
): Promise<void> {
  if (userIds.length === 0) return;
  const { type, occurrence, payload } = notification;
  await ctx.db.$executeRaw`
    INSERT INTO "Notification" ("id", "userId", "type", "occurrence", "payload")
    SELECT gen_random_uuid(), u."userId", ${type}, ${occurrence}, ${JSON.stringify(payload)}::jsonb
    FROM unnest(${[...userIds]}::uuid[]) AS u("userId")
    ON CONFLICT ("userId", "occurrence") DO NOTHING`;
  const at = new Date().toISOString();
  for (const userId of userIds) {
    await publishEvent(ctx.redis, ctx.env.REDIS_PREFIX, { type: "notification.created", userId, notificationType: type, at });
  }
}
