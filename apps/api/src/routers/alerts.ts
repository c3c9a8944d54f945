import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { adminProcedure } from "../trpc.ts";

/** Alerts for administrators: what fires now and what fired before (with values and thresholds). */
export const alertsRouter = {
  list: adminProcedure
    .input(z.object({ state: z.enum(["FIRING", "RESOLVED"]).optional(), limit: z.number().int().min(1).max(200).default(50) }).strict())
    .query(({ ctx, input }) => ctx.db.alert.findMany({ where: { state: input.state }, orderBy: { firedAt: "desc" }, take: input.limit })),
  /** For the header badge. */
  firingCount: adminProcedure.query(({ ctx }) => ctx.db.alert.count({ where: { state: "FIRING" } })),
} satisfies TRPCRouterRecord;
