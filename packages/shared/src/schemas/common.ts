import { z } from "zod";

/** Asset statuses of DESIGN.md §4, as the API returns them. */
export const ZAssetStatus = z.enum(["PENDING_UPLOAD", "UPLOADED", "SCANNING", "CLEAN", "QUARANTINED", "FAILED", "DELETED"]);
export type TAssetStatus = z.infer<typeof ZAssetStatus>;

export const ZRole = z.enum(["USER", "ADMIN"]);
export type TRole = z.infer<typeof ZRole>;

/** Cursor paging shared by every list procedure. */
export const ZPage = z.object({
  limit: z.number().int().min(1).max(200).default(50),
  cursor: z.string().optional(),
});
