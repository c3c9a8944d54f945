/**
 * Whether an error means a backing service (PostgreSQL, Redis, a socket) could not be reached or dropped
 * the connection — a 503 the client may retry — rather than a bug (a 500). Prisma reports an outage in
 * several shapes: P1001/P1002/P1017 from model queries, P2010 carrying the driver adapter's
 * `DatabaseNotReachable`, and node-postgres' own "Connection terminated" when a pooled connection is cut.
 */
const UNAVAILABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "P1001", "P1002", "P1017", "P2024"]);
const UNAVAILABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);

export function isDependencyUnavailable(error: unknown): boolean {
  if (!error || typeof error !== "object") return false;
  const e = error as { code?: unknown; name?: unknown; message?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown } } } };
  if (typeof e.code === "string" && UNAVAILABLE_CODES.has(e.code)) return true;
  if (e.name === "DriverAdapterError") return true;
  const kind = e.meta?.driverAdapterError?.cause?.kind;
  if (typeof kind === "string" && UNAVAILABLE_KINDS.has(kind)) return true;
  return typeof e.message === "string" && /^Connection terminated( unexpectedly| due to connection timeout)?$/.test(e.message);
}
