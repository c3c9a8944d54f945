import "../files.css";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { DeleteButton } from "../components/asset-parts.tsx";
import { LiveIndicator } from "../components/live-indicator.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { Pager } from "../components/pager.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/states.tsx";
import { type AssetItem, applyAssetEvent, withLive } from "../lib/asset-cache.ts";
import { formatBytes, formatDate, formatWhen, isoDate, mimeLabel } from "../lib/format.ts";
import { useLiveEvents } from "../lib/live.ts";
import { useCursorPaging } from "../lib/paging.ts";
import { useTRPC } from "../lib/trpc.ts";
import { useUsers } from "../lib/users.ts";

const PAGE_SIZE = 50;

/**
 * Files held back because a scanner found a threat or could not scan them. Nothing here can be
 * downloaded (no URL is ever signed for the quarantine prefix); the only action is deleting now,
 * before the scheduled cleanup does.
 */
export function QuarantinePage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const paging = useCursorPaging("quarantine");
  const { emailOf } = useUsers();
  const list = useQuery(
    trpc.upload.list.queryOptions(
      { status: "QUARANTINED", limit: PAGE_SIZE, cursor: paging.cursor },
      { placeholderData: keepPreviousData, select: withLive },
    ),
  );
  const live = useLiveEvents("admin", (event) => {
    applyAssetEvent(queryClient, trpc, event);
    // A newly quarantined file, or one that left quarantine (deleted): the list itself changes.
    if (event.type === "asset.status" && (event.status === "QUARANTINED" || event.status === "DELETED")) {
      void queryClient.invalidateQueries({ queryKey: trpc.upload.list.queryKey({ status: "QUARANTINED" }) });
    }
  });

  return (
    <>
      <PageHeader
        title="Quarantine"
        description="Files held back because a scanner found a threat or could not scan them. They are never served; the scheduled cleanup deletes them after the retention period."
        actions={<LiveIndicator status={live} />}
      />
      {list.isPending ? (
        <LoadingState label="Loading quarantined files…" />
      ) : list.isError ? (
        <ErrorState error={list.error} title="Could not load the quarantine" onRetry={() => void list.refetch()} />
      ) : list.data.items.length === 0 ? (
        <EmptyState title="Nothing in quarantine">
          <p>No file has been flagged by a scanner. Infected and unscannable files appear here the moment they are caught.</p>
        </EmptyState>
      ) : (
        <>
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Quarantined files</caption>
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Threat</th>
                  <th scope="col">Engine</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Quarantined</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((asset) => (
                  <QuarantineRow key={asset.id} asset={asset} owner={emailOf(asset.ownerId)} />
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            page={paging.page}
            hasPrevious={paging.hasPrevious}
            nextCursor={list.data.nextCursor}
            shown={list.data.items.length}
            busy={list.isFetching}
            onPrevious={paging.previous}
            onNext={paging.next}
          />
        </>
      )}
    </>
  );
}

function QuarantineRow({ asset, owner }: { asset: AssetItem; owner: string }) {
  const trpc = useTRPC();
  // The engines that flagged it are in the scan results (batched with the other rows in one request).
  const detail = useQuery(trpc.upload.get.queryOptions({ assetId: asset.id }, { staleTime: 60_000 }));
  const engines = detail.data
    ? [...new Set(detail.data.scanResults.filter((r) => r.verdict !== "CLEAN").map((r) => r.engine))].join(", ") || "—"
    : detail.isError
      ? "unknown"
      : "…";
  return (
    <tr data-asset-id={asset.id}>
      <td>
        <span className="cell-primary file-name" title={asset.originalName}>
          {asset.originalName}
        </span>
        <span className="cell-secondary">
          {mimeLabel(asset.detectedMime ?? asset.declaredMime)} · {formatBytes(asset.size ?? asset.declaredSize)} ·{" "}
          <span title="Quarantined files are never served">download blocked</span>
        </span>
      </td>
      <td className="wrap">
        {asset.threats.length > 0 ? (
          <span className="reason reason-danger">{asset.threats.join(", ")}</span>
        ) : (
          <span className="reason">Unscannable{asset.failureReason ? `: ${asset.failureReason}` : ""}</span>
        )}
      </td>
      <td>{engines}</td>
      <td>{owner}</td>
      <td>
        <time dateTime={isoDate(asset.quarantinedAt ?? asset.createdAt)} title={formatDate(asset.quarantinedAt ?? asset.createdAt)}>
          {formatWhen(asset.quarantinedAt ?? asset.createdAt)}
        </time>
      </td>
      <td className="actions">
        <DeleteButton asset={asset} label="Delete now" />
      </td>
    </tr>
  );
}
