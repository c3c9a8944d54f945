import { publishEvent } from "@airlock/shared/events";
import { THUMBNAIL_PREFIX } from "@airlock/shared/storage";
import sharp from "sharp";
import type { Registration } from "../registry.ts";

/** Decoding limit: a decompression bomb (huge dimensions in a small file) is refused, not rendered. */
const MAX_INPUT_PIXELS = 100_000_000;

/**
 * `asset-thumbnail`: a WebP thumbnail of a CLEAN image, streamed from storage through sharp. Only
 * clean files are ever decoded; anything else is skipped with the reason logged.
 */
export const thumbnailRegistration: Registration<"asset-thumbnail"> = {
  concurrency: () => 2,
  async process(job, ctx) {
    const asset = await ctx.db.asset.findUnique({ where: { id: job.data.assetId } });
    if (asset?.status !== "CLEAN") {
      ctx.log.info({ assetId: job.data.assetId, status: asset?.status }, "thumbnail skipped: asset is not clean");
      return "skipped";
    }
    if (asset.thumbnailKey) return "skipped";
    const mime = asset.detectedMime ?? "";
    if (!mime.startsWith("image/")) {
      ctx.log.info({ assetId: asset.id, mime }, "thumbnail skipped: not an image");
      return "skipped";
    }
    const source = await ctx.storage.read(asset.storageKey);
    const size = ctx.env.THUMBNAIL_SIZE;
    const transformer = sharp({ limitInputPixels: MAX_INPUT_PIXELS, failOn: "error" })
      .rotate()
      .resize(size, size, { fit: "inside", withoutEnlargement: true })
      .webp({ quality: 80 });
    source.on("error", (error) => transformer.destroy(error));
    const webp = await source.pipe(transformer).toBuffer();
    const key = `${THUMBNAIL_PREFIX}${asset.ownerId}/${asset.id}.webp`;
    await ctx.storage.write(key, webp, "image/webp");
    const updated = await ctx.db.asset.updateMany({
      where: { id: asset.id, status: "CLEAN", thumbnailKey: null },
      data: { thumbnailKey: key },
    });
    if (updated.count === 0) {
      await ctx.storage.delete(key);
      return "skipped";
    }
    await publishEvent(ctx.redis, ctx.env.REDIS_PREFIX, {
      type: "asset.thumbnail",
      assetId: asset.id,
      ownerId: asset.ownerId,
      at: new Date().toISOString(),
    });
    return "success";
  },
};
