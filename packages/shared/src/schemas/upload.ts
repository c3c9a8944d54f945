import { z } from "zod";
import { ZAssetStatus } from "./common.ts";

/** Inputs of the `upload.*` procedures, shared by the API and the admin SPA. */
export const ZAssetId = z.object({ assetId: z.uuid() }).strict();

export const ZInitiateUpload = z
  .object({
    filename: z.string().min(1).max(1024),
    /** Bytes; checked against the limits by the service so the error says which limit. */
    size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    mimeType: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/, "must be a MIME type such as image/png"),
    /** Optional hex sha256 of the whole file, verified at confirm. */
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters")
      .transform((s) => s.toLowerCase())
      .optional(),
  })
  .strict();
export type TInitiateUpload = z.input<typeof ZInitiateUpload>;

/** One storage call to sign, in the vocabulary of @uppy/aws-s3's `signRequest`. */
export const ZSignUpload = z
  .object({
    assetId: z.uuid(),
    method: z.enum(["GET", "PUT", "POST", "DELETE"]),
    uploadId: z.string().min(1).max(1024).optional(),
    partNumber: z.number().int().min(1).max(10_000).optional(),
  })
  .strict();
export type TSignUpload = z.input<typeof ZSignUpload>;

export const ZListUploads = z
  .object({
    status: ZAssetStatus.optional(),
    /** Administrators only; others always see their own. */
    ownerId: z.uuid().optional(),
    mime: z.string().max(255).optional(),
    from: z.coerce.date().optional(),
    to: z.coerce.date().optional(),
    limit: z.number().int().min(1).max(200).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict();
export type TListUploads = z.output<typeof ZListUploads>;
