import { AppError } from "@airlock/shared/errors";
import { ZAssetId, ZInitiateUpload, ZListUploads, ZSignUpload } from "@airlock/shared/schemas";
import type { TRPCRouterRecord } from "@trpc/server";
import { toAssetView } from "../services/asset-view.ts";
import { confirmUpload, deleteUpload, downloadUrl, findOwnAsset, initiateUpload, listUploads, signUpload } from "../services/uploads.ts";
import { authedProcedure } from "../trpc.ts";

/** Guard for the inline thumbnail answer (a 320 px WebP is a few dozen KiB). */
const MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024;

/** The upload protocol (DESIGN §5). Every procedure acts on the caller's own assets; admins may read and delete all. */
export const uploadRouter = {
  /** The limits a client should apply before initiating (the server enforces them again). */
  config: authedProcedure.query(({ ctx }) => ({
    maxBytes: ctx.env.UPLOAD_MAX_BYTES,
    allowedMime: ctx.env.UPLOAD_ALLOWED_MIME,
    multipartThreshold: ctx.env.MULTIPART_THRESHOLD_BYTES,
  })),
  /** Validates name, size and type, creates the asset and says how to send it (single PUT or multipart). */
  initiate: authedProcedure.input(ZInitiateUpload).mutation(({ ctx, input }) => initiateUpload(ctx, ctx.user, input)),
  /** Presigns exactly one storage call of the asset (what @uppy/aws-s3's `signRequest` asks for). */
  sign: authedProcedure.input(ZSignUpload).mutation(({ ctx, input }) => signUpload(ctx, ctx.user, input)),
  /** Verifies the stored object (exists, size, type, checksum), then queues the scan. Idempotent. */
  confirm: authedProcedure.input(ZAssetId).mutation(({ ctx, input }) => confirmUpload(ctx, ctx.user, input.assetId)),
  status: authedProcedure.input(ZAssetId).query(async ({ ctx, input }) => {
    const asset = await findOwnAsset(ctx.db, ctx.user, input.assetId, { adminSees: true });
    const view = toAssetView(asset);
    return {
      id: view.id,
      status: view.status,
      failureCode: view.failureCode,
      failureReason: view.failureReason,
      threats: view.threats,
      hasThumbnail: view.hasThumbnail,
    };
  }),
  get: authedProcedure.input(ZAssetId).query(async ({ ctx, input }) => {
    const asset = await findOwnAsset(ctx.db, ctx.user, input.assetId, { adminSees: true });
    const scanResults = await ctx.db.scanResult.findMany({ where: { assetId: asset.id }, orderBy: { createdAt: "asc" } });
    return {
      ...toAssetView(asset),
      scanResults: scanResults.map((r) => ({
        engine: r.engine,
        verdict: r.verdict,
        threats: r.threats,
        signatureVersion: r.signatureVersion,
        durationMs: r.durationMs,
        at: r.createdAt,
      })),
    };
  }),
  /**
   * The WebP thumbnail of a CLEAN image, inline as a data URL. Thumbnails are small (THUMBNAIL_SIZE
   * px) and never get signed URLs (only `uploads/` is signable), so the API reads them itself.
   */
  thumbnail: authedProcedure.input(ZAssetId).query(async ({ ctx, input }) => {
    const asset = await findOwnAsset(ctx.db, ctx.user, input.assetId, { adminSees: true });
    if (asset.status !== "CLEAN" || !asset.thumbnailKey) throw new AppError("NOT_FOUND", "this upload has no thumbnail");
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of await ctx.storage.read(asset.thumbnailKey)) {
      size += (chunk as Buffer).length;
      if (size > MAX_THUMBNAIL_BYTES) throw new AppError("INVALID_STATE", "the thumbnail is unexpectedly large");
      chunks.push(chunk as Buffer);
    }
    return { dataUrl: `data:image/webp;base64,${Buffer.concat(chunks).toString("base64")}` };
  }),
  list: authedProcedure.input(ZListUploads).query(({ ctx, input }) => listUploads(ctx.db, ctx.user, input)),
  downloadUrl: authedProcedure.input(ZAssetId).mutation(({ ctx, input }) => downloadUrl(ctx, ctx.user, input.assetId)),
  delete: authedProcedure.input(ZAssetId).mutation(({ ctx, input }) => deleteUpload(ctx, ctx.user, input.assetId)),
} satisfies TRPCRouterRecord;
