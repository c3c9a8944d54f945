import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { authedProcedure } from "../trpc.ts";

/** The caller's in-app notifications (written by the worker's `notifications` processor) and mail preferences. */
export const notificationsRouter = {
  list: authedProcedure
    .input(
      z
        .object({
          unreadOnly: z.boolean().default(false),
          limit: z.number().int().min(1).max(100).default(20),
          cursor: z.uuid().optional(),
        })
        .strict()
        .default({ unreadOnly: false, limit: 20 }),
    )
    .query(async ({ ctx, input }) => {
      const userId = ctx.user.id;
      const [rows, unreadCount] = await Promise.all([
        ctx.db.notification.findMany({
          where: { userId, ...(input.unreadOnly ? { readAt: null } : {}) },
          orderBy: [{ createdAt: "desc" }, { id: "desc" }],
          take: input.limit + 1,
          ...(input.cursor ? { cursor: { id: input.cursor }, skip: 1 } : {}),
        }),
        ctx.db.notification.count({ where: { userId, readAt: null } }),
      ]);
      const items = rows.slice(0, input.limit);
      return { items, unreadCount, nextCursor: rows.length > input.limit ? items.at(-1)?.id : undefined };
    }),
  /** Marks the caller's own notifications read; ids of other users' notifications are ignored. */
  markRead: authedProcedure.input(z.object({ ids: z.array(z.uuid()).min(1).max(500) }).strict()).mutation(async ({ ctx, input }) => {
    const { count } = await ctx.db.notification.updateMany({
      where: { id: { in: input.ids }, userId: ctx.user.id, readAt: null },
      data: { readAt: new Date() },
    });
    return { count };
  }),
  markAllRead: authedProcedure.mutation(async ({ ctx }) => {
    const { count } = await ctx.db.notification.updateMany({ where: { userId: ctx.user.id, readAt: null }, data: { readAt: new Date() } });
    return { count };
  }),
  preferences: authedProcedure.query(async ({ ctx }) => {
    const user = await ctx.db.user.findUniqueOrThrow({ where: { id: ctx.user.id }, select: { emailOptOut: true } });
    return user;
  }),
  /** `emailOptOut` stops non-security mail (upload completed/failed); virus and alert mail is always sent. */
  updatePreferences: authedProcedure
    .input(z.object({ emailOptOut: z.boolean() }).strict())
    .mutation(({ ctx, input }) =>
      ctx.db.user.update({ where: { id: ctx.user.id }, data: { emailOptOut: input.emailOptOut }, select: { emailOptOut: true } }),
    ),
} satisfies TRPCRouterRecord;
