import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { AssetItem } from "../lib/asset-cache.ts";
import { describeError } from "../lib/errors.ts";
import { useTRPC } from "../lib/trpc.ts";
import { ConfirmDialog } from "./dialog.tsx";

/** The file's thumbnail once the worker made one (clean images only), else a tile with its extension. */
export function AssetThumbnail({
  asset,
  size = 48,
}: {
  asset: Pick<AssetItem, "id" | "status" | "hasThumbnail" | "safeName">;
  size?: number;
}) {
  const trpc = useTRPC();
  const ready = asset.status === "CLEAN" && asset.hasThumbnail;
  const thumbnail = useQuery(
    trpc.upload.thumbnail.queryOptions({ assetId: asset.id }, { enabled: ready, staleTime: Number.POSITIVE_INFINITY }),
  );
  const style = { width: size, height: size };
  if (ready && thumbnail.data) {
    return (
      <img className="thumb" src={thumbnail.data.dataUrl} alt={`Thumbnail of ${asset.safeName}`} style={style} data-testid="thumbnail" />
    );
  }
  const extension = asset.safeName.includes(".") ? asset.safeName.split(".").pop()?.slice(0, 4).toUpperCase() : "FILE";
  return (
    <span className="thumb thumb-placeholder" style={style} aria-hidden="true">
      {extension}
    </span>
  );
}

/** A short-lived signed download link, asked for at click time; only CLEAN files get the button at all. */
export function DownloadButton({ asset }: { asset: Pick<AssetItem, "id" | "status" | "originalName"> }) {
  const trpc = useTRPC();
  const [error, setError] = useState<string | null>(null);
  const download = useMutation(
    trpc.upload.downloadUrl.mutationOptions({
      onSuccess: ({ url }) => {
        setError(null);
        // The URL answers with Content-Disposition: attachment, so the page stays where it is.
        const link = document.createElement("a");
        link.href = url;
        link.rel = "noopener";
        document.body.append(link);
        link.click();
        link.remove();
      },
      onError: (err) => setError(describeError(err)),
    }),
  );
  if (asset.status !== "CLEAN") return null;
  return (
    <>
      <button
        type="button"
        className="button button-small"
        onClick={() => download.mutate({ assetId: asset.id })}
        disabled={download.isPending}
        aria-label={`Download ${asset.originalName}`}
      >
        {download.isPending ? "Preparing…" : "Download"}
      </button>
      {error ? (
        <span className="inline-error" role="alert">
          {error}
        </span>
      ) : null}
    </>
  );
}

/** Delete with a confirmation; refreshes every asset list afterwards. */
export function DeleteButton({
  asset,
  label = "Delete",
  onDeleted,
}: {
  asset: Pick<AssetItem, "id" | "status" | "originalName">;
  label?: string;
  onDeleted?: () => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const remove = useMutation(
    trpc.upload.delete.mutationOptions({
      onSuccess: async () => {
        setOpen(false);
        await queryClient.invalidateQueries({ queryKey: trpc.upload.pathKey() });
        onDeleted?.();
      },
    }),
  );
  if (asset.status === "DELETED") return null;
  return (
    <>
      <button
        type="button"
        className="button button-small button-danger-quiet"
        onClick={() => {
          remove.reset();
          setOpen(true);
        }}
        aria-label={`${label} ${asset.originalName}`}
      >
        {label}
      </button>
      <ConfirmDialog
        open={open}
        title={`Delete “${asset.originalName}”?`}
        confirmLabel="Delete file"
        busyLabel="Deleting…"
        busy={remove.isPending}
        error={remove.isError ? describeError(remove.error) : null}
        onConfirm={() => remove.mutate({ assetId: asset.id })}
        onClose={() => setOpen(false)}
      >
        <p>
          The file is removed from storage now{asset.status === "QUARANTINED" ? ", including its quarantined copy" : ""}. Its record stays
          as deleted for the audit trail. This cannot be undone.
        </p>
      </ConfirmDialog>
    </>
  );
}

/** Why an asset is where it is: threat names, or the failure reason, in words. */
export function AssetReason({ asset }: { asset: Pick<AssetItem, "status" | "threats" | "failureReason"> }) {
  if (asset.status === "QUARANTINED" && asset.threats.length > 0) {
    return <span className="reason reason-danger">Threat: {asset.threats.join(", ")}</span>;
  }
  if ((asset.status === "QUARANTINED" || asset.status === "FAILED") && asset.failureReason) {
    return <span className="reason">{asset.failureReason}</span>;
  }
  if (asset.status === "QUARANTINED") return <span className="reason">Could not be scanned</span>;
  return null;
}
