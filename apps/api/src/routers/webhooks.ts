import {
  createEndpoint,
  endpointSelect,
  replayDelivery,
  rotateEndpointSecret,
  updateEndpoint,
  WEBHOOK_EVENTS,
} from "@airlock/shared/webhooks";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import type { RequestContext } from "../context.ts";
import { adminProcedure } from "../trpc.ts";

const ZEvents = z.array(z.enum(WEBHOOK_EVENTS)).max(WEBHOOK_EVENTS.length);
export const ZCreateWebhookRequest = z
  .object({ url: z.url().max(2048), events: ZEvents.default([]), active: z.boolean().optional() })
  .strict();
export const ZUpdateWebhookRequest = z
  .object({ id: z.uuid(), url: z.url().max(2048).optional(), events: ZEvents.optional(), active: z.boolean().optional() })
  .strict();
const ZId = z.object({ id: z.uuid() }).strict();

const deps = (ctx: Pick<RequestContext, "db" | "queues" | "env">) => ({
  db: ctx.db,
  queues: ctx.queues,
  allowPrivate: ctx.env.WEBHOOK_ALLOW_PRIVATE_TARGETS,
});

/**
 * Webhook endpoints (administrators): CRUD, secret rotation, the delivery log and replay. The secret is
 * returned by `create` and `rotateSecret` only. Targets pass the SSRF guard when saved and again on
 * every delivery.
 */
export const webhooksRouter = {
  events: adminProcedure.query(() => [...WEBHOOK_EVENTS]),
  list: adminProcedure.query(({ ctx }) => ctx.db.webhookEndpoint.findMany({ select: endpointSelect, orderBy: { createdAt: "desc" } })),
  get: adminProcedure
    .input(ZId)
    .query(({ ctx, input }) => ctx.db.webhookEndpoint.findUniqueOrThrow({ where: { id: input.id }, select: endpointSelect })),
  create: adminProcedure.input(ZCreateWebhookRequest).mutation(({ ctx, input }) => createEndpoint(deps(ctx), input)),
  update: adminProcedure.input(ZUpdateWebhookRequest).mutation(({ ctx, input }) => updateEndpoint(deps(ctx), input)),
  delete: adminProcedure.input(ZId).mutation(async ({ ctx, input }) => {
    await ctx.db.webhookEndpoint.delete({ where: { id: input.id } });
    return { id: input.id };
  }),
  /** A new secret; the old one still signs (as a second signature) for WEBHOOK_SECRET_OVERLAP_HOURS. */
  rotateSecret: adminProcedure
    .input(ZId)
    .mutation(({ ctx, input }) => rotateEndpointSecret(ctx, input.id, ctx.env.WEBHOOK_SECRET_OVERLAP_HOURS)),
  /** The delivery log of one endpoint, newest first (attempts, status code, latency, response excerpt). */
  deliveries: adminProcedure
    .input(
      z
        .object({
          endpointId: z.uuid(),
          status: z.enum(["PENDING", "SUCCEEDED", "FAILED"]).optional(),
          limit: z.number().int().min(1).max(200).default(50),
          cursor: z.uuid().optional(),
        })
        .strict(),
    )
    .query(async ({ ctx, input }) => {
      const rows = await ctx.db.webhookDelivery.findMany({
        where: { endpointId: input.endpointId, status: input.status },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: input.limit + 1,
        ...(input.cursor ? { cursor: { id: input.cursor }, skip: 1 } : {}),
      });
      const items = rows.slice(0, input.limit);
      return { items, nextCursor: rows.length > input.limit ? items.at(-1)?.id : undefined };
    }),
  /** Sends a past delivery again as a new delivery with the same payload. */
  replay: adminProcedure
    .input(z.object({ deliveryId: z.uuid() }).strict())
    .mutation(({ ctx, input }) => replayDelivery(ctx, input.deliveryId)),
} satisfies TRPCRouterRecord;
