import {
  assertRange,
  failures,
  metrics,
  mimeBreakdown,
  queueDepths,
  rebuild,
  resolveRange,
  scanTimes,
  storageUsage,
  timeseries,
  topUploaders,
  ZDayRange,
} from "@airlock/shared/analytics";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { adminProcedure } from "../trpc.ts";

/** `{ from?, to? }`: whole UTC days, both included; default the last 30 days; at most 366 days. */
const ZRange = ZDayRange.default({});
export const ZFailuresRequest = ZDayRange.extend({ limit: z.number().int().min(1).max(100).default(20) }).default({ limit: 20 });
export const ZTopUploadersRequest = ZDayRange.extend({
  limit: z.number().int().min(1).max(100).default(10),
  by: z.enum(["count", "bytes"]).default("count"),
}).default({ limit: 10, by: "count" });

/**
 * Upload analytics for administrators (DESIGN §8). Thin: each procedure calls the service of
 * `@airlock/shared/analytics`, which answers from the Redis day buckets (UTC days) and refuses a range
 * with from > to or more than 366 days (BAD_REQUEST, saying which).
 */
export const analyticsRouter = {
  /** Totals of the range: events per outcome, bytes, success rate (confirmed ÷ initiated), quarantine rate. */
  metrics: adminProcedure.input(ZRange).query(({ ctx, input }) => metrics(ctx, resolveRange(input))),
  /** One point per day and outcome. */
  timeseries: adminProcedure.input(ZRange).query(({ ctx, input }) => timeseries(ctx, resolveRange(input))),
  mimeBreakdown: adminProcedure.input(ZRange).query(({ ctx, input }) => mimeBreakdown(ctx, resolveRange(input))),
  /** Failed uploads and quarantines by reason, with recent examples. */
  failures: adminProcedure.input(ZFailuresRequest).query(({ ctx, input }) => failures(ctx, { ...resolveRange(input), limit: input.limit })),
  /** Average, p50 and p95 scan time per day and over the range. */
  scanTimes: adminProcedure.input(ZRange).query(({ ctx, input }) => scanTimes(ctx, resolveRange(input))),
  /** Users with the most confirmed uploads (or bytes), with their shares. */
  topUploaders: adminProcedure
    .input(ZTopUploadersRequest)
    .query(({ ctx, input }) => topUploaders(ctx, { ...resolveRange(input), limit: input.limit, by: input.by })),
  /** Live BullMQ job counts per queue and state. */
  queueDepths: adminProcedure.query(({ ctx }) => queueDepths(ctx.queues)),
  /** Stored bytes by status at the end of each day. */
  storageUsage: adminProcedure.input(ZRange).query(({ ctx, input }) => storageUsage(ctx, resolveRange(input))),
  /** Recomputes the Redis aggregates of the range from PostgreSQL (after Redis lost data). */
  rebuild: adminProcedure.input(ZRange).mutation(async ({ ctx, input }) => {
    const range = resolveRange(input);
    const result = await rebuild(ctx, assertRange(range));
    ctx.log.info({ ...result, by: ctx.user.id }, "analytics rebuilt by an administrator");
    return result;
  }),
} satisfies TRPCRouterRecord;
