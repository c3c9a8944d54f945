import { AppError } from "@airlock/shared/errors";
import { ZRole } from "@airlock/shared/schemas";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { createApiKey } from "../services/api-keys.ts";
import { createUser } from "../services/users.ts";
import { adminProcedure } from "../trpc.ts";
import { adminAssetsRouter } from "./admin-assets.ts";
import { cleanupRouter } from "./cleanup.ts";
import { queuesRouter } from "./queues.ts";

/** User management for administrators. */
export const adminRouter = {
  assets: adminAssetsRouter,
  cleanup: cleanupRouter,
  queues: queuesRouter,
  users: {
    list: adminProcedure.query(({ ctx }) =>
      ctx.db.user.findMany({
        select: { id: true, email: true, name: true, role: true, createdAt: true, _count: { select: { assets: true } } },
        orderBy: { createdAt: "asc" },
      }),
    ),
    /** Creates a user and its first key (returned once). */
    create: adminProcedure
      .input(z.object({ email: z.email(), name: z.string().trim().min(1).max(200).optional(), role: ZRole.default("USER") }).strict())
      .mutation(async ({ ctx, input }) => {
        const exists = await ctx.db.user.findUnique({ where: { email: input.email.toLowerCase() } });
        if (exists) throw new AppError("INVALID_STATE", "a user with this email already exists");
        const user = await createUser(ctx.db, input);
        const key = await createApiKey(ctx.db, user.id, "created by admin");
        ctx.log.info({ userId: user.id, by: ctx.user.id }, "user created");
        return { user: { id: user.id, email: user.email, role: user.role }, key: key.key };
      }),
  },
} satisfies TRPCRouterRecord;
