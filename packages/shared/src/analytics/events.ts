import type { PrismaClient, UploadEventType } from "@airlock/db";
import type { PriorEvents } from "./storage-flow.ts";

/** An event as producers report it (DESIGN §3 `UploadEvent`). */
export interface UploadEventInput {
  type: UploadEventType;
  assetId: string;
  userId: string;
  mime?: string | null;
  size?: number | bigint | null;
  durationMs?: number | null;
  engine?: string | null;
  reason?: string | null;
  at?: Date;
}

export interface UploadEventRow {
  type: UploadEventType;
  assetId: string;
  userId: string;
  mime: string | null;
  size: bigint | null;
  durationMs: number | null;
  engine: string | null;
  reason: string | null;
  at: Date;
}

export function toRow(event: UploadEventInput, now = new Date()): UploadEventRow {
  return {
    type: event.type,
    assetId: event.assetId,
    userId: event.userId,
    mime: event.mime ?? null,
    size: event.size == null ? null : BigInt(event.size),
    durationMs: event.durationMs ?? null,
    engine: event.engine ?? null,
    reason: event.reason ?? null,
    at: event.at ?? now,
  };
}

/**
 * Writes the durable rows in one statement. At-least-once producers may report an event twice (a retried
 * job, a repeated request): the (assetId, type) unique index makes the second a no-op. Returns the rows
 * this call inserted, which are the only ones whose aggregates may be counted. Raw SQL over unnest'ed
 * arrays: Prisma's createMany took ~0.2 s per 500 rows here, this ~10 ms.
 */
export async function insertUploadEvents(db: PrismaClient, rows: readonly UploadEventRow[]): Promise<UploadEventRow[]> {
  if (rows.length === 0) return [];
  const inserted = await db.$queryRaw<Array<{ assetId: string; type: UploadEventType }>>`
    INSERT INTO "UploadEvent" ("id", "type", "assetId", "userId", "mime", "size", "durationMs", "engine", "reason", "at")
    SELECT gen_random_uuid(), e.type::"UploadEventType", e."assetId", e."userId", e.mime, e.size, e."durationMs", e.engine, e.reason, e.at
    FROM unnest(
      ${rows.map((r) => r.type)}::text[], ${rows.map((r) => r.assetId)}::uuid[], ${rows.map((r) => r.userId)}::uuid[],
      ${rows.map((r) => r.mime)}::text[], ${rows.map((r) => (r.size === null ? null : r.size.toString()))}::bigint[],
      ${rows.map((r) => r.durationMs)}::int[], ${rows.map((r) => r.engine)}::text[], ${rows.map((r) => r.reason)}::text[],
      ${rows.map((r) => r.at)}::timestamptz[]
    ) AS e(type, "assetId", "userId", mime, size, "durationMs", engine, reason, at)
    ON CONFLICT ("assetId", "type") DO NOTHING
    RETURNING "assetId", "type"::text AS "type"`;
  const won = new Set(inserted.map((r) => `${r.assetId}|${r.type}`));
  // Two reports of one event in the same call: the first one is the row.
  return rows.filter((r) => won.delete(`${r.assetId}|${r.type}`));
}

export interface AssetHistory {
  prior: PriorEvents;
  confirmedSize: number | null;
}

/** The recorded event types of some assets (and their confirmed size), for storage moves. */
export async function assetHistories(db: PrismaClient, assetIds: readonly string[]): Promise<Map<string, AssetHistory>> {
  const histories = new Map<string, AssetHistory>();
  if (assetIds.length === 0) return histories;
  const rows = await db.uploadEvent.findMany({
    where: { assetId: { in: [...new Set(assetIds)] }, type: { in: ["CONFIRMED", "SCANNED", "QUARANTINED", "FAILED"] } },
    select: { assetId: true, type: true, size: true },
  });
  for (const row of rows) {
    let h = histories.get(row.assetId);
    if (!h) {
      h = { prior: { confirmed: false, scanned: false, quarantined: false, failed: false }, confirmedSize: null };
      histories.set(row.assetId, h);
    }
    if (row.type === "CONFIRMED") {
      h.prior.confirmed = true;
      h.confirmedSize = row.size === null ? null : Number(row.size);
    } else if (row.type === "SCANNED") h.prior.scanned = true;
    else if (row.type === "QUARANTINED") h.prior.quarantined = true;
    else if (row.type === "FAILED") h.prior.failed = true;
  }
  return histories;
}
