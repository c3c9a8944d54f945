import { AppError } from "@airlock/shared/errors";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { createApiKey, revokeApiKey } from "../services/api-keys.ts";
import { authedProcedure } from "../trpc.ts";

/** The caller's own identity and keys. */
export const accountRouter = {
  me: authedProcedure.query(({ ctx }) => ({
    id: ctx.user.id,
    email: ctx.user.email,
    name: ctx.user.name,
    role: ctx.user.role,
  })),

  keys: {
    list: authedProcedure.query(({ ctx }) =>
      ctx.db.apiKey.findMany({
        where: { userId: ctx.user.id },
        select: { id: true, name: true, prefix: true, lastUsedAt: true, revokedAt: true, createdAt: true },
        orderBy: { createdAt: "desc" },
      }),
    ),
    /** The key is in this answer only; it cannot be read again. */
    create: authedProcedure
      .input(z.object({ name: z.string().trim().min(1).max(100).optional() }).strict())
      .mutation(({ ctx, input }) => createApiKey(ctx.db, ctx.user.id, input.name)),
    revoke: authedProcedure.input(z.object({ id: z.uuid() }).strict()).mutation(async ({ ctx, input }) => {
      const count = await revokeApiKey(ctx.db, { id: input.id, userId: ctx.user.id });
      if (count === 0) throw new AppError("NOT_FOUND", "no active key with this id");
      return { revoked: true };
    }),
  },
} satisfies TRPCRouterRecord;
