import type { UploadEventType } from "@airlock/db";

/** Event types as the analytics answers name them. */
export const OUTCOMES = ["initiated", "confirmed", "failed", "scanned", "quarantined", "deleted"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const TYPE_OF: Record<Outcome, UploadEventType> = {
  initiated: "INITIATED",
  confirmed: "CONFIRMED",
  failed: "FAILED",
  scanned: "SCANNED",
  quarantined: "QUARANTINED",
  deleted: "DELETED",
};

export function zeroByOutcome(): Record<Outcome, number> {
  return { initiated: 0, confirmed: 0, failed: 0, scanned: 0, quarantined: 0, deleted: 0 };
}
