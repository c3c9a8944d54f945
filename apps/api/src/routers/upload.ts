import { ZAssetId, ZInitiateUpload, ZListUploads, ZSignUpload } from "@airlock/shared/schemas";
import type { TRPCRouterRecord } from "@trpc/server";
import { toAssetView } from "../services/asset-view.ts";
import { confirmUpload, deleteUpload, downloadUrl, findOwnAsset, initiateUpload, listUploads, signUpload } from "../services/uploads.ts";
import { authedProcedure } from "../trpc.ts";

/** The upload protocol (DESIGN §5). Every procedure acts on the caller's own assets; admins may read and delete all. */
export const uploadRouter = {
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
  list: authedProcedure.input(ZListUploads).query(({ ctx, input }) => listUploads(ctx.db, ctx.user, input)),
  downloadUrl: authedProcedure.input(ZAssetId).mutation(({ ctx, input }) => downloadUrl(ctx, ctx.user, input.assetId)),
  delete: authedProcedure.input(ZAssetId).mutation(({ ctx, input }) => deleteUpload(ctx, ctx.user, input.assetId)),
} satisfies TRPCRouterRecord;
