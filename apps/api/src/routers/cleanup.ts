import { CLEANUP_CATEGORIES, runCleanup } from "@airlock/shared/cleanup";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { adminProcedure } from "../trpc.ts";

const ZCleanupRequest = z
  .object({
    categories: z.array(z.enum(CLEANUP_CATEGORIES)).min(1).optional(),
    /** Overrides the configured ages (hours) for this run. */
    olderThanHours: z
      .number()
      .positive()
      .max(24 * 3650)
      .optional(),
  })
  .strict();

/** Cleanup for administrators: preview (dry run, answered at once), run (queued), history. */
export const cleanupRouter = {
  preview: adminProcedure.input(ZCleanupRequest).mutation(({ ctx, input }) =>
    runCleanup(ctx, {
      dryRun: true,
      trigger: "admin",
      categories: input.categories,
      olderThanHours: input.olderThanHours,
      ages: {
        abandonedHours: ctx.env.CLEANUP_ABANDONED_HOURS,
        failedHours: ctx.env.CLEANUP_FAILED_HOURS,
        quarantinedHours: ctx.env.CLEANUP_QUARANTINED_HOURS,
      },
    }),
  ),
  /** A real run happens in the worker; the answer is the job id, the result lands in `history`. */
  run: adminProcedure.input(ZCleanupRequest).mutation(async ({ ctx, input }) => {
    const job = await ctx.queues["upload-cleanup"].add("cleanup", { dryRun: false, trigger: "admin", requestedBy: ctx.user.id, ...input });
    ctx.log.info({ jobId: job.id, by: ctx.user.id }, "cleanup run requested");
    return { jobId: job.id ?? null };
  }),
  history: adminProcedure
    .input(z.object({ limit: z.number().int().min(1).max(100).default(20) }).strict())
    .query(async ({ ctx, input }) => {
      const runs = await ctx.db.cleanupRun.findMany({ orderBy: { startedAt: "desc" }, take: input.limit });
      return runs.map((r) => ({ ...r, bytesFreed: Number(r.bytesFreed) }));
    }),
} satisfies TRPCRouterRecord;
