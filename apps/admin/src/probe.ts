import type { AppRouter } from "@airlock/api/router";
export type X = AppRouter;
