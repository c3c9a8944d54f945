import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { accountRouter } from "./routers/account.ts";
import { adminRouter } from "./routers/admin.ts";
import { alertsRouter } from "./routers/alerts.ts";
import { analyticsRouter } from "./routers/analytics.ts";
import { eventsRouter } from "./routers/events.ts";
import { notificationsRouter } from "./routers/notifications.ts";
import { uploadRouter } from "./routers/upload.ts";
import { webhooksRouter } from "./routers/webhooks.ts";
import { createTRPCRouter } from "./trpc.ts";

export const appRouter = createTRPCRouter({
  account: accountRouter,
  admin: adminRouter,
  alerts: alertsRouter,
  analytics: analyticsRouter,
  events: eventsRouter,
  notifications: notificationsRouter,
  upload: uploadRouter,
  webhooks: webhooksRouter,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
