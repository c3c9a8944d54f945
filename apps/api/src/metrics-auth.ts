import { timingSafeEqual } from "node:crypto";
import type { AppDeps } from "./context.ts";
import { authenticateApiKey, bearerToken } from "./services/api-keys.ts";

/** /metrics answers Prometheus (METRICS_TOKEN) or an administrator; counts are not for everyone. */
export async function metricsAllowed(deps: Pick<AppDeps, "env" | "db">, authorization: string | undefined): Promise<boolean> {
  const token = bearerToken(authorization);
  if (!token) return false;
  const expected = deps.env.METRICS_TOKEN;
  if (expected && token.length === expected.length && timingSafeEqual(Buffer.from(token), Buffer.from(expected))) return true;
  const user = await authenticateApiKey(deps.db, token).catch(() => null);
  return user?.role === "ADMIN";
}

/**
 * A bounded label for a request: the tRPC procedure(s) for /trpc, the route pattern otherwise, so
 * signed /storage URLs and unknown paths cannot blow up the number of series.
 */
export function metricsRoute(path: string, routePath: string): string {
  if (path.startsWith("/trpc/")) {
    const procedures = path.slice(6).split(",");
    return procedures.length > 1
      ? "/trpc/(batch)"
      : `/trpc/${/^[A-Za-z0-9.]{1,64}$/.test(procedures[0] ?? "") ? procedures[0] : "(unknown)"}`;
  }
  return routePath === "*" || routePath === "/*" ? "(other)" : routePath;
}
