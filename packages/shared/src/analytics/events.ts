import type { PrismaClient, UploadEventType } from "@airlock/db";

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

function toRow(event: UploadEventInput) {
  return {
    type: event.type,
    assetId: event.assetId,
    userId: event.userId,
    mime: event.mime ?? null,
    size: event.size == null ? null : BigInt(event.size),
    durationMs: event.durationMs ?? null,
    engine: event.engine ?? null,
    reason: event.reason ?? null,
    at: event.at ?? new Date(),
  };
}

/**
 * Writes the durable event row. At-least-once producers may call this twice for one transition
 * (a retried job, a repeated request): the (assetId, type) unique index makes the second a no-op.
 * Returns whether this call recorded the event.
 */
export async function recordUploadEvent(db: PrismaClient, event: UploadEventInput): Promise<boolean> {
  const result = await db.uploadEvent.createMany({ data: [toRow(event)], skipDuplicates: true });
  return result.count === 1;
}

/** Many events in one insert (cleanup batches); duplicates are skipped as above. Returns how many were new. */
export async function recordUploadEvents(db: PrismaClient, events: UploadEventInput[]): Promise<number> {
  if (events.length === 0) return 0;
  const result = await db.uploadEvent.createMany({ data: events.map(toRow), skipDuplicates: true });
  return result.count;
}
