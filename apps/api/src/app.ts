import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { localSigningSecret } from "@airlock/shared/storage";
import { LocalStorageDriver } from "@airlock/shared/storage/local";
import { createLocalStorageHandler } from "@airlock/shared/storage/local-server";
import type { HttpBindings } from "@hono/node-server";
import { serveStatic } from "@hono/node-server/serve-static";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { AppDeps, RequestContext } from "./context.ts";
import { metricsAllowed, metricsRoute } from "./metrics-auth.ts";
import { checkReadiness } from "./readiness.ts";
import { createAdminRest } from "./rest/admin-rest.ts";
import { appRouter } from "./root.ts";

/** Bindings: what @hono/node-server passes (absent when the app is called directly, as in some tests). */
type HonoEnv = { Bindings: Partial<HttpBindings> | undefined; Variables: { requestId: string } };

/**
 * The HTTP surface: /trpc (the API), /healthz, and the built admin SPA at `/`. Built from its
 * dependencies so tests run it against their own database and Redis.
 */
export function createApp(deps: AppDeps) {
  const { env, log } = deps;
  const app = new Hono<HonoEnv>();
  const allowedOrigins = new Set([new URL(env.PUBLIC_URL).origin, ...env.CORS_ORIGINS]);

  app.use(
    requestId({
      // Accept a caller's id only when it is short and plain, so it cannot inject into logs.
      generator: (c) => {
        const given = c.req.header("x-request-id");
        return given && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : crypto.randomUUID();
      },
    }),
  );
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = metricsRoute(c.req.path, c.req.routePath);
    deps.metrics.httpRequests.inc({ route, method: c.req.method, status: String(c.res.status) });
    deps.metrics.httpDuration.observe({ route, method: c.req.method }, seconds);
    // The path only: query strings can carry signatures.
    log.info(
      {
        requestId: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      "request",
    );
  });
  // Not on /storage: downloads carry their own stricter headers (CSP sandbox, attachment), which the
  // SPA's policy would overwrite.
  const spaHeaders = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", "data:", "blob:"],
      connectSrc: ["'self'", ...(env.S3_ENDPOINT ? [new URL(env.S3_ENDPOINT).origin] : [])],
      frameAncestors: ["'none'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
    },
    crossOriginResourcePolicy: "same-origin",
    referrerPolicy: "no-referrer",
  });
  app.use((c, next) => (c.req.path.startsWith("/storage/") ? next() : spaHeaders(c, next)));
  app.use(
    "*",
    cors({
      origin: (origin) => (allowedOrigins.has(origin) ? origin : null),
      // Content-MD5: a browser may send it with /storage PUTs to have the bytes verified (as S3 does).
      allowHeaders: ["Authorization", "Content-Type", "Content-MD5", "X-Request-Id", "trpc-accept"],
      allowMethods: ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"],
      exposeHeaders: ["X-Request-Id", "ETag"],
      maxAge: 600,
    }),
  );

  const limit = bodyLimit({
    maxSize: env.BODY_LIMIT_BYTES,
    // The rest of the body is never read, so the connection cannot carry another request: say so, or a
    // keep-alive client sends its next request on a socket the server is about to close ("other side closed").
    onError: (c) =>
      c.json({ error: { code: "PAYLOAD_TOO_LARGE", message: `request body is larger than ${env.BODY_LIMIT_BYTES} bytes` } }, 413, {
        connection: "close",
      }),
  });
  app.use("/trpc/*", limit);
  app.use("/api/*", limit);

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/metrics", async (c) => {
    if (!(await metricsAllowed(deps, c.req.header("authorization")))) {
      return c.json(
        { error: { code: "UNAUTHORIZED", message: "send the METRICS_TOKEN or an administrator's API key as a Bearer token" } },
        401,
      );
    }
    return c.text(await deps.metrics.registry.metrics(), 200, { "content-type": deps.metrics.registry.contentType });
  });
  app.get("/readyz", async (c) => {
    const result = await checkReadiness(deps);
    return c.json(result, result.status === "ready" ? 200 : 503);
  });

  // The local driver's signed calls; the signature is the authorization (no API key: browsers send
  // the bytes straight here just as they would to S3). Body limits are the signed per-call maximums.
  if (deps.storage instanceof LocalStorageDriver) {
    const handler = createLocalStorageHandler(deps.storage, { secret: localSigningSecret(env), log });
    // Under @hono/node-server, the Node request too: upload bodies skip two stream conversions.
    app.all("/storage/*", (c) => handler(c.req.raw, c.env?.incoming));
  }

  app.all("/trpc/*", (c) =>
    fetchRequestHandler({
      endpoint: "/trpc",
      req: c.req.raw,
      router: appRouter,
      createContext: (): RequestContext => ({
        ...deps,
        requestId: c.get("requestId"),
        authorization: c.req.header("authorization"),
        user: null,
      }),
      onError: ({ error, path }) => {
        if (error.code === "INTERNAL_SERVER_ERROR")
          log.error({ requestId: c.get("requestId"), path, err: error.cause ?? error }, "procedure failed");
      },
    }),
  );

  // The REST façade of the admin procedures (same keys, checks and errors as /trpc).
  app.route("/api/admin", createAdminRest(deps));

  mountAdminSpa(app, resolve(env.ADMIN_DIST_DIR));

  app.notFound((c) => c.json({ error: { code: "NOT_FOUND", message: `no route for ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((error, c) => {
    log.error({ requestId: c.get("requestId"), err: error }, "unhandled error");
    return c.json({ error: { code: "INTERNAL", message: "internal error", requestId: c.get("requestId") } }, 500);
  });
  return app;
}

/** Serves the built SPA; unknown paths that are not API routes get index.html (client-side routing). */
function mountAdminSpa(app: Hono<HonoEnv>, dist: string) {
  const index = join(dist, "index.html");
  if (!existsSync(index)) return;
  app.use("/assets/*", serveStatic({ root: dist }));
  app.get("*", async (c, next) => {
    const path = c.req.path;
    if (path.startsWith("/trpc") || path.startsWith("/api/") || path.startsWith("/storage/")) return next();
    if (/\.[a-z0-9]+$/i.test(path)) return serveStatic({ root: dist })(c, next);
    return c.html(await readFile(index, "utf8"));
  });
}
