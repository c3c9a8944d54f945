import type { RouterOutputs } from "@airlock/api/router";
import AwsS3, { type AwsBody } from "@uppy/aws-s3";
import Uppy, { type Meta, type UppyFile } from "@uppy/core";
import { describeError } from "./errors.ts";
import type { ApiClient } from "./trpc.ts";
import { fingerprint, resumeStore } from "./upload-resume.ts";

/** What Airlock keeps in each Uppy file's meta once the API has initiated (or resumed) its upload. */
export interface AirlockMeta extends Meta {
  assetId?: string;
  key?: string;
  mode?: "single" | "multipart";
  /** This file continues an upload started before a reload. */
  resumed?: boolean;
}

export type AirlockUppy = Uppy<AirlockMeta, AwsBody>;
type AirlockFile = UppyFile<AirlockMeta, AwsBody>;
export type UploadConfig = RouterOutputs["upload"]["config"];
export type ConfirmedAsset = RouterOutputs["upload"]["confirm"];

export interface UploaderOptions {
  client: ApiClient;
  userId: string;
  config: UploadConfig;
  /** The API accepted the bytes (`upload.confirm`); processing now continues on the server. */
  onConfirmed: (asset: ConfirmedAsset) => void;
  /** An asset was created or reused (so lists can show it). */
  onInitiated?: (assetId: string) => void;
}

/**
 * Uppy wired to the upload protocol of DESIGN §5:
 * 1. file added → `upload.initiate` (the server validates and picks key, mode and part size), or, for
 *    a file whose upload was interrupted by a reload, `upload.get` of the remembered asset → resume;
 * 2. @uppy/aws-s3 6 sends the bytes straight to storage, every storage call presigned by ONE
 *    `signRequest` → `upload.sign` (PUT object; create / part / list / complete / abort multipart);
 *    a resumed file gets Uppy's `s3Multipart` state, so Uppy lists the stored parts and sends the rest;
 * 3. upload-success → `upload.confirm`; from there the page follows the asset through live events.
 */
export function createUploader({ client, userId, config, onConfirmed, onInitiated }: UploaderOptions): AirlockUppy {
  const uppy: AirlockUppy = new Uppy<AirlockMeta, AwsBody>({
    id: "airlock-uploads",
    autoProceed: false,
    restrictions: { maxFileSize: config.maxBytes, allowedFileTypes: config.allowedMime },
    infoTimeout: 8_000,
  });

  /** Storage key → asset: `signRequest` is told the key only. */
  const assetByKey = new Map<string, string>();
  /** File size → part size: `getChunkSize` is told the size only (the server's choice depends on it alone). */
  const partSizeBySize = new Map<number, number>();
  /** Initiation of each added file; the upload waits for it (a preprocessor). */
  const preparing = new Map<string, Promise<void>>();
  const fingerprints = new Map<string, string>();

  function remember(
    fileId: string,
    asset: { assetId: string; key: string; mode: "single" | "multipart"; partSize: number | null },
    size: number,
  ) {
    assetByKey.set(asset.key, asset.assetId);
    if (asset.partSize) partSizeBySize.set(size, asset.partSize);
    uppy.setFileMeta(fileId, { assetId: asset.assetId, key: asset.key, mode: asset.mode });
    onInitiated?.(asset.assetId);
  }

  /** Picks up the asset of an interrupted upload of this very file; false when there is none to resume. */
  async function resume(file: AirlockFile, fp: string): Promise<boolean> {
    const record = resumeStore.get(fp);
    if (!record) return false;
    const asset = await client.upload.get.query({ assetId: record.assetId }).catch(() => null);
    if (asset?.status !== "PENDING_UPLOAD" || asset.declaredSize !== file.size) {
      resumeStore.remove(fp);
      return false;
    }
    remember(file.id, { assetId: asset.id, key: asset.key, mode: asset.mode, partSize: asset.partSize }, asset.declaredSize);
    uppy.setFileMeta(file.id, { resumed: true });
    if (asset.mode === "multipart" && asset.uploadId) {
      // What @uppy/aws-s3 restores from (its Golden Retriever hook): list parts, then send the missing ones.
      uppy.setFileState(file.id, { s3Multipart: { uploadId: asset.uploadId, key: asset.key } });
    }
    uppy.info(`Resuming “${file.name}”: parts already stored are not sent again.`, "info", 6_000);
    return true;
  }

  async function prepare(file: AirlockFile): Promise<void> {
    try {
      const fp = await fingerprint(userId, file);
      fingerprints.set(file.id, fp);
      if (await resume(file, fp)) return;
      const init = await client.upload.initiate.mutate({
        filename: file.name ?? "file",
        size: file.size ?? 0,
        mimeType: file.type || "application/octet-stream",
      });
      remember(file.id, init, file.size ?? 0);
      resumeStore.save(fp, init.assetId);
    } catch (error) {
      uppy.info(`“${file.name}” cannot be uploaded: ${describeError(error)}`, "error", 10_000);
      if (uppy.getFile(file.id)) uppy.removeFile(file.id);
    }
  }

  uppy.on("file-added", (file) => {
    preparing.set(file.id, prepare(file));
  });
  uppy.addPreProcessor(async (fileIds) => {
    await Promise.all(fileIds.map((id) => preparing.get(id)));
  });

  uppy.use(AwsS3, {
    limit: 3,
    shouldUseMultipart: (file) => (file.meta as AirlockMeta).mode === "multipart",
    getChunkSize: ({ size }) => {
      const partSize = partSizeBySize.get(size);
      if (!partSize) throw new Error("no part size for this file: it was not initiated");
      return partSize;
    },
    generateObjectKey: (file) => {
      const { key } = file.meta as AirlockMeta;
      if (!key) throw new Error(`“${file.name}” has no upload yet`);
      return key;
    },
    async signRequest(request) {
      const assetId = assetByKey.get(request.key);
      if (!assetId) throw new Error("this upload is unknown to the page; add the file again");
      const signed = await client.upload.sign.mutate({
        assetId,
        method: request.method,
        uploadId: "uploadId" in request ? request.uploadId : undefined,
        partNumber: "partNumber" in request ? request.partNumber : undefined,
      });
      return { url: signed.url, headers: signed.headers };
    },
  });

  uppy.on("upload-success", (file) => {
    if (!file?.meta.assetId) return;
    const { assetId } = file.meta;
    client.upload.confirm
      .mutate({ assetId })
      .then((asset) => {
        const fp = fingerprints.get(file.id);
        if (fp) resumeStore.remove(fp);
        onConfirmed(asset);
      })
      .catch((error: unknown) => {
        uppy.info(`“${file.name}” was sent but not accepted: ${describeError(error)}`, "error", 12_000);
        // The asset is FAILED now (or will be confirmed by a retry); either way there is nothing to resume.
        const fp = fingerprints.get(file.id);
        if (fp) resumeStore.remove(fp);
        onInitiated?.(assetId);
      });
  });

  // Removing a file before it finished cancels its upload: Uppy aborts the multipart upload, and the
  // asset is deleted so it does not wait a day for the cleanup. Finished files are only hidden.
  uppy.on("file-removed", (file) => {
    preparing.delete(file.id);
    const fp = fingerprints.get(file.id);
    fingerprints.delete(file.id);
    if (file.progress.uploadComplete || !file.meta.assetId) return;
    if (fp) resumeStore.remove(fp);
    client.upload.delete.mutate({ assetId: file.meta.assetId }).then(
      () => onInitiated?.(file.meta.assetId ?? ""),
      () => {},
    );
  });

  return uppy;
}

let session: { userId: string; uppy: AirlockUppy } | null = null;

/**
 * One Uppy per signed-in user for the life of the tab, not per visit of the Uploads page: uploads
 * keep going while the person looks at other pages, and the Dashboard shows them again on return.
 * Another user signing in gets a fresh instance; the previous one is paused (not cancelled, so its
 * multipart uploads stay resumable).
 */
export function sessionUploader(options: UploaderOptions): AirlockUppy {
  if (session?.userId === options.userId) return session.uppy;
  session?.uppy.pauseAll();
  session = { userId: options.userId, uppy: createUploader(options) };
  return session.uppy;
}
