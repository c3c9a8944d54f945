import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";
import "../files.css";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import Dashboard from "@uppy/react/dashboard";
import { useMemo, useState } from "react";
import { AssetReason, AssetThumbnail, DeleteButton, DownloadButton } from "../components/asset-parts.tsx";
import { AssetStatusBadge, ProcessingSteps } from "../components/asset-status.tsx";
import { LiveIndicator } from "../components/live-indicator.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/states.tsx";
import { type AssetItem, applyAssetEvent, withLive } from "../lib/asset-cache.ts";
import { useCurrentUser } from "../lib/auth.tsx";
import { describeTypes, formatBytes, formatDate, formatWhen, isoDate, mimeLabel } from "../lib/format.ts";
import { useLiveEvents } from "../lib/live.ts";
import { useTRPC, useTRPCClient } from "../lib/trpc.ts";
import { sessionUploader, type UploadConfig } from "../lib/uploader.ts";

const PAGE_SIZE = 20;
/** `upload.list` answers at most this many per call; older files are on the next cursor. */
const MAX_LIMIT = 200;

/**
 * Everyone's page: send files (Uppy straight to storage), then watch each one through confirmation,
 * scanning and the verdict, live. Administrators see their own uploads here too; all files are on
 * the Assets page.
 */
export function UploadsPage() {
  const trpc = useTRPC();
  const user = useCurrentUser();
  const queryClient = useQueryClient();
  const config = useQuery(trpc.upload.config.queryOptions(undefined, { staleTime: Number.POSITIVE_INFINITY }));
  // "Show older" grows the window rather than paging, so live updates patch one cached list.
  const [limit, setLimit] = useState(PAGE_SIZE);
  const uploads = useQuery(
    trpc.upload.list.queryOptions({ ownerId: user.id, limit }, { placeholderData: keepPreviousData, select: withLive }),
  );
  const live = useLiveEvents("assets", (event) => {
    if (!applyAssetEvent(queryClient, trpc, event)) void uploads.refetch();
  });
  const items = uploads.data?.items ?? [];

  return (
    <>
      <PageHeader
        title="Uploads"
        description="Upload files and follow each one from transfer through malware scanning to clean or quarantined."
        actions={<LiveIndicator status={live} />}
      />

      <section className="panel" aria-labelledby="new-upload-title">
        <div className="panel-header">
          <h2 id="new-upload-title">New upload</h2>
          {config.data ? <Restrictions config={config.data} /> : null}
        </div>
        {config.isPending ? (
          <LoadingState label="Loading upload limits…" />
        ) : config.isError ? (
          <ErrorState error={config.error} title="Uploads are unavailable right now" onRetry={() => void config.refetch()} />
        ) : (
          <UploadWidget config={config.data} />
        )}
      </section>

      <section className="panel" aria-labelledby="recent-title">
        <div className="panel-header">
          <h2 id="recent-title">Your recent uploads</h2>
          <p className="hint">Newest first. Only files that passed the scan can be downloaded.</p>
        </div>
        {uploads.isPending ? (
          <LoadingState label="Loading your uploads…" />
        ) : uploads.isError ? (
          <ErrorState error={uploads.error} title="Could not load your uploads" onRetry={() => void uploads.refetch()} />
        ) : items.length === 0 ? (
          <EmptyState title="No uploads yet">
            <p>Files you upload appear here with their scan status.</p>
          </EmptyState>
        ) : (
          <>
            <UploadsTable items={items} />
            {uploads.data.nextCursor && limit < MAX_LIMIT ? (
              <div className="table-footer">
                <button
                  type="button"
                  className="button"
                  onClick={() => setLimit((n) => Math.min(n + PAGE_SIZE, MAX_LIMIT))}
                  disabled={uploads.isFetching}
                >
                  {uploads.isFetching ? "Loading…" : "Show older uploads"}
                </button>
              </div>
            ) : uploads.data.nextCursor ? (
              <p className="hint table-footer">Showing your {MAX_LIMIT} most recent uploads.</p>
            ) : null}
          </>
        )}
      </section>
    </>
  );
}

function Restrictions({ config }: { config: UploadConfig }) {
  return (
    <p className="hint" data-testid="upload-restrictions">
      Up to <strong>{formatBytes(config.maxBytes)}</strong> per file. Accepted: {describeTypes(config.allowedMime)}. Files over{" "}
      {formatBytes(config.multipartThreshold)} are sent in parts and can be resumed after a reload by adding the same file again.
    </p>
  );
}

function UploadWidget({ config }: { config: UploadConfig }) {
  const client = useTRPCClient();
  const trpc = useTRPC();
  const user = useCurrentUser();
  const queryClient = useQueryClient();
  const uppy = useMemo(
    () =>
      sessionUploader({
        client,
        userId: user.id,
        config,
        onInitiated: () => void queryClient.invalidateQueries({ queryKey: trpc.upload.list.pathKey() }),
        onConfirmed: () => void queryClient.invalidateQueries({ queryKey: trpc.upload.list.pathKey() }),
      }),
    [client, user.id, config, queryClient, trpc],
  );
  return (
    <Dashboard
      uppy={uppy}
      width="100%"
      height={320}
      theme="auto"
      proudlyDisplayPoweredByUppy={false}
      showLinkToFileUploadResult={false}
      showRemoveButtonAfterComplete
      note="Files go straight to storage, then are scanned for malware before anyone can download them."
    />
  );
}

function UploadsTable({ items }: { items: AssetItem[] }) {
  return (
    <div className="table-wrap">
      <table className="table table-assets">
        <caption className="visually-hidden">Your recent uploads</caption>
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col" className="numeric">
              Size
            </th>
            <th scope="col">Status</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((asset) => (
            <tr key={asset.id} data-asset-id={asset.id} data-status={asset.status}>
              <td>
                <div className="file-cell">
                  <AssetThumbnail asset={asset} />
                  <div className="file-cell-text">
                    <span className="cell-primary file-name" title={asset.originalName}>
                      {asset.originalName}
                    </span>
                    <span className="cell-secondary">
                      {mimeLabel(asset.detectedMime ?? asset.declaredMime)} ·{" "}
                      <time dateTime={isoDate(asset.createdAt)} title={`Uploaded ${formatDate(asset.createdAt)}`}>
                        {formatWhen(asset.createdAt)}
                      </time>
                    </span>
                  </div>
                </div>
              </td>
              <td className="numeric">{formatBytes(asset.size ?? asset.declaredSize)}</td>
              <td className="wrap">
                <div className="status-cell">
                  <AssetStatusBadge status={asset.status} />
                  <ProcessingSteps status={asset.status} />
                  <AssetReason asset={asset} />
                </div>
              </td>
              <td className="actions">
                <DownloadButton asset={asset} />
                <DeleteButton asset={asset} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
