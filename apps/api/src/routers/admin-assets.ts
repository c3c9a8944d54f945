import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { adminProcedure } from "../trpc.ts";

/** Rows kept per list: an asset has at most one UploadEvent per type, security events are rare. */
const HISTORY_LIMIT = 100;

/**
 * What happened to one asset, for the admin's asset details: its analytics events (UploadEvent: one
 * per type — initiated, confirmed, scanned, quarantined, failed, deleted) and the security events
 * logged about it (a detection, a refused download…), both oldest first. Works for deleted assets too,
 * as long as the row exists.
 */
export const adminAssetsRouter = {
  history: adminProcedure.input(z.object({ assetId: z.uuid() }).strict()).query(async ({ ctx, input }) => {
    await ctx.db.asset.findUniqueOrThrow({ where: { id: input.assetId }, select: { id: true } });
    const [events, securityEvents] = await Promise.all([
      ctx.db.uploadEvent.findMany({ where: { assetId: input.assetId }, orderBy: [{ at: "asc" }, { id: "asc" }], take: HISTORY_LIMIT }),
      ctx.db.securityEvent.findMany({
        where: { assetId: input.assetId },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        take: HISTORY_LIMIT,
      }),
    ]);
    return {
      events: events.map((e) => ({
        id: e.id,
        type: e.type,
        at: e.at,
        mime: e.mime,
        size: e.size === null ? null : Number(e.size),
        durationMs: e.durationMs,
        engine: e.engine,
        reason: e.reason,
      })),
      securityEvents: securityEvents.map((s) => ({
        id: s.id,
        type: s.type,
        severity: s.severity,
        userId: s.userId,
        details: s.details,
        at: s.createdAt,
      })),
    };
  }),
} satisfies TRPCRouterRecord;
