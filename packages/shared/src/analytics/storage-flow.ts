import type { UploadEventType } from "@airlock/db";

/**
 * Where an asset's stored bytes are, as implied by its recorded events (DESIGN §4): after CONFIRMED the
 * object waits for its scan (UPLOADED, which includes SCANNING), after SCANNED it is CLEAN, after
 * QUARANTINED it is in quarantine, a scan that FAILED after confirmation leaves it FAILED until cleanup,
 * and DELETED removes it. A FAILED confirmation removes the object at once (nothing stays stored).
 */
export const STORED_STATUSES = ["UPLOADED", "CLEAN", "QUARANTINED", "FAILED"] as const;
export type StoredStatus = (typeof STORED_STATUSES)[number];

/** Which other events the asset has recorded; only FAILED and DELETED need them. */
export interface PriorEvents {
  confirmed: boolean;
  scanned: boolean;
  quarantined: boolean;
  failed: boolean;
}

export interface StorageMove {
  from: StoredStatus | null;
  to: StoredStatus | null;
  /** True when the size is the confirmed object's (FAILED, DELETED carry none or another). */
  sizeFromConfirmed: boolean;
}

/**
 * The move of one event. It depends only on the event's type and the set of the asset's events, not on
 * their order, so `track` (looking at the rows when the event arrives) and `rebuild` (looking at all
 * rows later) agree: DELETED is terminal and FAILED-after-scan implies CONFIRMED, by the state machine.
 */
export function storageMove(type: UploadEventType, prior: PriorEvents): StorageMove {
  switch (type) {
    case "INITIATED":
      return { from: null, to: null, sizeFromConfirmed: false };
    case "CONFIRMED":
      return { from: null, to: "UPLOADED", sizeFromConfirmed: false };
    case "SCANNED":
      return { from: "UPLOADED", to: "CLEAN", sizeFromConfirmed: false };
    case "QUARANTINED":
      return { from: "CLEAN", to: "QUARANTINED", sizeFromConfirmed: false };
    case "FAILED":
      return prior.confirmed
        ? { from: "UPLOADED", to: "FAILED", sizeFromConfirmed: true }
        : { from: null, to: null, sizeFromConfirmed: true };
    case "DELETED":
      return { from: statusBeforeDelete(prior), to: null, sizeFromConfirmed: true };
  }
}

function statusBeforeDelete(prior: PriorEvents): StoredStatus | null {
  if (prior.quarantined) return "QUARANTINED";
  if (prior.failed) return prior.confirmed ? "FAILED" : null;
  if (prior.scanned) return "CLEAN";
  if (prior.confirmed) return "UPLOADED";
  return null;
}

/** Event types whose move needs the asset's other events. */
export const NEEDS_PRIOR: readonly UploadEventType[] = ["FAILED", "DELETED"];
