import { type Context, Hono } from "hono";
import type { AppDeps, RequestContext } from "../context.ts";
import { appRouter } from "../root.ts";
import { createCallerFactory } from "../trpc.ts";
import { openApiDocument } from "./openapi.ts";
import { badRequest, restError } from "./rest-errors.ts";

type HonoEnv = { Variables: { requestId: string } };
const createCaller = createCallerFactory(appRouter);
type Caller = ReturnType<typeof createCaller>;

/**
 * The REST façade of the admin procedures, under /api/admin. Each route calls the tRPC procedure
 * itself (`createCaller`), so authentication (Bearer API key → 401; not an administrator → 403), input
 * validation, the services and error codes are exactly those of `/trpc`; this file only maps query
 * strings and bodies in and errors out (JSON, see rest-errors.ts). Dates are UTC days (YYYY-MM-DD).
 */
export function createAdminRest(deps: AppDeps) {
  const api = new Hono<HonoEnv>();

  /** Runs `handle` with a caller bound to this request's key; any error becomes a JSON error. */
  const withCaller = (handle: (caller: Caller, c: Context<HonoEnv>) => Promise<Response>) => async (c: Context<HonoEnv>) => {
    const ctx: RequestContext = { ...deps, requestId: c.get("requestId"), authorization: c.req.header("authorization"), user: null };
    try {
      return await handle(createCaller(ctx), c);
    } catch (thrown) {
      const { status, body, internal } = restError(thrown, ctx.requestId);
      if (internal) deps.log.error({ requestId: ctx.requestId, path: c.req.path, err: thrown }, "admin REST call failed");
      return c.json(body, status as 400);
    }
  };

  api.get("/openapi.json", (c) => c.json(openApiDocument));

  /** Totals, per-day series, MIME breakdown, scan times and storage of the range, in one answer. */
  api.get(
    "/analytics/uploads",
    withCaller(async (caller, c) => {
      const range = rangeQuery(c.req.queries(), []);
      // Authentication and the range are checked once, by the first call, before the others run.
      const metrics = await caller.analytics.metrics(range);
      const [timeseries, mimeBreakdown, scanTimes, storageUsage] = await Promise.all([
        caller.analytics.timeseries(range),
        caller.analytics.mimeBreakdown(range),
        caller.analytics.scanTimes(range),
        caller.analytics.storageUsage(range),
      ]);
      return c.json({
        from: metrics.from,
        to: metrics.to,
        metrics,
        timeseries: timeseries.points,
        mimeBreakdown: mimeBreakdown.items,
        scanTimes,
        storageUsage,
      });
    }),
  );

  api.get(
    "/analytics/uploads/queue",
    withCaller(async (caller, c) => {
      rangeQuery(c.req.queries(), [], { range: false });
      return c.json(await caller.analytics.queueDepths());
    }),
  );

  api.get(
    "/uploads/failures",
    withCaller(async (caller, c) => {
      const query = rangeQuery(c.req.queries(), ["limit"]);
      return c.json(await caller.analytics.failures({ ...query, limit: integer(query.limit, "limit") }));
    }),
  );

  api.get(
    "/uploads/top-users",
    withCaller(async (caller, c) => {
      const query = rangeQuery(c.req.queries(), ["limit", "by"]);
      return c.json(
        await caller.analytics.topUploaders({
          ...query,
          limit: integer(query.limit, "limit"),
          by: query.by as "count" | "bytes" | undefined,
        }),
      );
    }),
  );

  /** What happened to one asset: its upload events and the security events about it, oldest first. */
  api.get(
    "/assets/:assetId/history",
    withCaller(async (caller, c) => {
      rangeQuery(c.req.queries(), [], { range: false });
      return c.json(await caller.admin.assets.history({ assetId: c.req.param("assetId") ?? "" }));
    }),
  );

  /**
   * Cleanup through the same procedures as `admin.cleanup.*`: a dry run (the default) is answered at
   * once with the preview; `{"dryRun": false}` queues a real run for the worker and answers 202 with the
   * job id — the worker runs one cleanup at a time (the hourly one included) and a large run takes
   * minutes, longer than an HTTP client should wait. The result lands in `admin.cleanup.history`.
   */
  api.post(
    "/uploads/cleanup",
    withCaller(async (caller, c) => {
      const text = await c.req.text();
      let body: unknown = {};
      if (text.trim()) {
        try {
          body = JSON.parse(text);
        } catch {
          throw badRequest('the body must be JSON, e.g. {} or {"dryRun": false}');
        }
      }
      if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("the body must be a JSON object");
      const { dryRun = true, ...options } = body as Record<string, unknown>;
      if (typeof dryRun !== "boolean") throw badRequest("dryRun must be true or false");
      if (dryRun) return c.json(await caller.admin.cleanup.preview(options), 200);
      const { jobId } = await caller.admin.cleanup.run(options);
      return c.json({ dryRun: false, status: "queued", jobId }, 202);
    }),
  );

  return api;
}

/**
 * `from`/`to` (and the route's `extra` names) from the query string; an unknown or repeated parameter
 * is refused, so a typo (`?form=`) is not silently ignored.
 */
function rangeQuery(
  queries: Record<string, string[]>,
  extra: string[],
  options: { range?: boolean } = {},
): { from?: string; to?: string } & Record<string, string | undefined> {
  const allowed = [...(options.range === false ? [] : ["from", "to"]), ...extra];
  const result: Record<string, string | undefined> = {};
  for (const [name, values] of Object.entries(queries)) {
    if (!allowed.includes(name)) {
      throw badRequest(
        `unknown query parameter "${name}"${allowed.length ? `; this route takes ${allowed.join(", ")}` : "; this route takes none"}`,
      );
    }
    if (values.length > 1) throw badRequest(`query parameter "${name}" is given ${values.length} times`);
    result[name] = values[0];
  }
  return result;
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,6}$/.test(value)) throw badRequest(`${name} must be a whole number, got "${value}"`);
  return Number(value);
}
