import { AppError } from "@airlock/shared/errors";
import type { AirlockEvent } from "@airlock/shared/events";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import type { RequestContext } from "../context.ts";
import type { EventHub } from "../events/hub.ts";
import { liveEvents } from "../events/live.ts";
import { type AuthenticatedUser, authenticateApiKey, bearerToken } from "../services/api-keys.ts";
import { authedProcedure, toTRPCError } from "../trpc.ts";

/** What the WebSocket handler adds to the context (events/ws.ts); HTTP requests have no hub. */
export interface LiveContext {
  events: EventHub;
}

/** tRPC's wsLink sends `lastEventId` back on reconnect; it lands in the input. */
const ZSubscribe = z
  .object({ lastEventId: z.string().max(64).nullish() })
  .strict()
  .optional();

const liveProcedure = authedProcedure.use(({ ctx, next }) => {
  const events = (ctx as Partial<LiveContext>).events;
  if (!events) {
    throw new AppError("BAD_REQUEST", "live events are served over WebSocket only: connect a tRPC WebSocket client to /trpc");
  }
  return next({ ctx: { events } });
});

const liveAdminProcedure = liveProcedure.use(({ ctx, next }) => {
  if (ctx.user.role !== "ADMIN") throw new AppError("FORBIDDEN", "this needs an administrator's key");
  return next();
});

/**
 * A subscription lives for hours: its key is checked again every minute, so a revoked key (or an
 * administrator who lost the role) stops receiving events, like it stops being able to call anything.
 */
function recheck(ctx: RequestContext, user: AuthenticatedUser, needsAdmin: boolean) {
  return async () => {
    const token = bearerToken(ctx.authorization);
    const current = token ? await authenticateApiKey(ctx.db, token) : null;
    if (!current || current.id !== user.id) throw toTRPCError(new AppError("UNAUTHORIZED", "this API key is invalid or has been revoked"));
    if (needsAdmin && current.role !== "ADMIN") throw toTRPCError(new AppError("FORBIDDEN", "this needs an administrator's key"));
  };
}

function isOwnAssetEvent(event: AirlockEvent, userId: string): boolean {
  return (event.type === "asset.status" || event.type === "asset.thumbnail") && event.ownerId === userId;
}

function isOwnNotification(event: AirlockEvent, userId: string): boolean {
  return event.type === "notification.created" && event.userId === userId;
}

/**
 * Live events over WebSocket (DESIGN §10), each tracked by its event id so a reconnecting client
 * resumes where it left off (missed events are replayed from a bounded Redis stream; when they are
 * gone, a `resync` event says to reload).
 */
export const eventsRouter = {
  /** The caller's own assets: status changes and thumbnails. */
  assets: liveProcedure.input(ZSubscribe).subscription(({ ctx, input, signal }) =>
    liveEvents({
      hub: ctx.events,
      lastEventId: input?.lastEventId,
      signal,
      accept: (event) => isOwnAssetEvent(event, ctx.user.id),
      recheck: recheck(ctx, ctx.user, false),
    }),
  ),
  /** The caller's own in-app notifications as they are written (the header's bell). */
  notifications: liveProcedure.input(ZSubscribe).subscription(({ ctx, input, signal }) =>
    liveEvents({
      hub: ctx.events,
      lastEventId: input?.lastEventId,
      signal,
      accept: (event) => isOwnNotification(event, ctx.user.id),
      recheck: recheck(ctx, ctx.user, false),
    }),
  ),
  /** Everything: every asset, cleanup runs, alerts. Administrators only. */
  admin: liveAdminProcedure.input(ZSubscribe).subscription(({ ctx, input, signal }) =>
    liveEvents({
      hub: ctx.events,
      lastEventId: input?.lastEventId,
      signal,
      accept: () => true,
      recheck: recheck(ctx, ctx.user, true),
    }),
  ),
} satisfies TRPCRouterRecord;
