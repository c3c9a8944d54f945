import "../files.css";
import type { TAssetStatus } from "@airlock/shared/schemas";
import { ZAssetStatus } from "@airlock/shared/schemas";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { AssetHistory } from "../components/asset-history.tsx";
import { AssetReason, AssetThumbnail, DeleteButton, DownloadButton } from "../components/asset-parts.tsx";
import { AssetStatusBadge, statusLabel } from "../components/asset-status.tsx";
import { Drawer } from "../components/dialog.tsx";
import { LiveIndicator } from "../components/live-indicator.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { Pager } from "../components/pager.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/states.tsx";
import { applyAssetEvent, mergeLive, withLive } from "../lib/asset-cache.ts";
import { formatBytes, formatDate, formatDuration, formatWhen, isoDate, mimeLabel } from "../lib/format.ts";
import { useLiveEvents } from "../lib/live.ts";
import { useCursorPaging } from "../lib/paging.ts";
import { useTRPC } from "../lib/trpc.ts";
import { useUsers } from "../lib/users.ts";

const PAGE_SIZE = 25;
const VERDICT: Record<string, string> = { CLEAN: "Clean", INFECTED: "Infected", UNSCANNABLE: "Unscannable", ERROR: "Error" };

interface Filters {
  status: TAssetStatus | "";
  ownerId: string;
  mime: string;
  /** yyyy-mm-dd from the date inputs, in the browser's time zone. */
  from: string;
  to: string;
}
const NO_FILTERS: Filters = { status: "", ownerId: "", mime: "", from: "", to: "" };

function startOfDay(day: string): Date | undefined {
  return day ? new Date(`${day}T00:00:00`) : undefined;
}
function endOfDay(day: string): Date | undefined {
  return day ? new Date(`${day}T23:59:59.999`) : undefined;
}

/** Every stored file across all users: filters, paging, and a drawer with the scan results per engine. */
export function AssetsPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [selected, setSelected] = useState<string | null>(null);
  const paging = useCursorPaging(JSON.stringify(filters));
  const { users, emailOf } = useUsers();
  const config = useQuery(trpc.upload.config.queryOptions(undefined, { staleTime: Number.POSITIVE_INFINITY }));
  const list = useQuery(
    trpc.upload.list.queryOptions(
      {
        status: filters.status || undefined,
        ownerId: filters.ownerId || undefined,
        mime: filters.mime || undefined,
        from: startOfDay(filters.from),
        to: endOfDay(filters.to),
        limit: PAGE_SIZE,
        cursor: paging.cursor,
      },
      { placeholderData: keepPreviousData, select: withLive },
    ),
  );
  const live = useLiveEvents("admin", (event) => {
    // A new asset (or one that moved into the filtered status) needs the list itself refetched.
    if (!applyAssetEvent(queryClient, trpc, event)) void queryClient.invalidateQueries({ queryKey: trpc.upload.list.pathKey() });
  });
  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));
  const filtered = JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);

  return (
    <>
      <PageHeader
        title="Assets"
        description="Every stored file across all users, searchable by status, type, owner and date, with its scan results."
        actions={<LiveIndicator status={live} />}
      />
      <form className="filters" aria-label="Filter assets" onSubmit={(e) => e.preventDefault()}>
        <label className="filter">
          Status
          <select value={filters.status} onChange={(e) => set({ status: e.target.value as Filters["status"] })}>
            <option value="">Any status</option>
            {ZAssetStatus.options.map((status) => (
              <option key={status} value={status}>
                {statusLabel(status)}
              </option>
            ))}
          </select>
        </label>
        <label className="filter">
          Owner
          <select value={filters.ownerId} onChange={(e) => set({ ownerId: e.target.value })}>
            <option value="">Anyone</option>
            {users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.email}
              </option>
            ))}
          </select>
        </label>
        <label className="filter">
          Type
          <select value={filters.mime} onChange={(e) => set({ mime: e.target.value })}>
            <option value="">Any type</option>
            {(config.data?.allowedMime ?? []).map((mime) => (
              <option key={mime} value={mime}>
                {mimeLabel(mime)}
              </option>
            ))}
          </select>
        </label>
        <label className="filter">
          From
          <input type="date" value={filters.from} max={filters.to || undefined} onChange={(e) => set({ from: e.target.value })} />
        </label>
        <label className="filter">
          To
          <input type="date" value={filters.to} min={filters.from || undefined} onChange={(e) => set({ to: e.target.value })} />
        </label>
        <button type="button" className="button button-quiet" onClick={() => setFilters(NO_FILTERS)} disabled={!filtered}>
          Clear filters
        </button>
      </form>

      {list.isPending ? (
        <LoadingState label="Loading assets…" />
      ) : list.isError ? (
        <ErrorState error={list.error} title="Could not load the assets" onRetry={() => void list.refetch()} />
      ) : list.data.items.length === 0 ? (
        <EmptyState title={filtered ? "No assets match these filters" : "No assets yet"}>
          <p>{filtered ? "Try another status, owner, type or date range." : "Files appear here as soon as someone starts an upload."}</p>
        </EmptyState>
      ) : (
        <>
          <div className="table-wrap">
            <table className="table table-assets">
              <caption className="visually-hidden">Assets</caption>
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Owner</th>
                  <th scope="col" className="numeric">
                    Size
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((asset) => (
                  <tr key={asset.id} className={asset.id === selected ? "row-selected" : undefined} data-status={asset.status}>
                    <td>
                      <div className="file-cell">
                        <AssetThumbnail asset={asset} size={36} />
                        <div className="file-cell-text">
                          <button
                            type="button"
                            className="link-button file-name"
                            onClick={() => setSelected(asset.id)}
                            title="Show details"
                          >
                            {asset.originalName}
                          </button>
                          <span className="cell-secondary">{mimeLabel(asset.detectedMime ?? asset.declaredMime)}</span>
                        </div>
                      </div>
                    </td>
                    <td>{emailOf(asset.ownerId)}</td>
                    <td className="numeric">{formatBytes(asset.size ?? asset.declaredSize)}</td>
                    <td className="wrap">
                      <div className="status-cell">
                        <AssetStatusBadge status={asset.status} />
                        <AssetReason asset={asset} />
                      </div>
                    </td>
                    <td>
                      <time dateTime={isoDate(asset.createdAt)} title={formatDate(asset.createdAt)}>
                        {formatWhen(asset.createdAt)}
                      </time>
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

      <Drawer open={selected !== null} title="Asset details" onClose={() => setSelected(null)}>
        {selected ? <AssetDetails assetId={selected} ownerEmail={emailOf} onDeleted={() => setSelected(null)} /> : null}
      </Drawer>
    </>
  );
}

function AssetDetails({ assetId, ownerEmail, onDeleted }: { assetId: string; ownerEmail: (id: string) => string; onDeleted: () => void }) {
  const trpc = useTRPC();
  const asset = useQuery(trpc.upload.get.queryOptions({ assetId }, { select: mergeLive }));
  if (asset.isPending) return <LoadingState label="Loading the asset…" />;
  if (asset.isError) return <ErrorState error={asset.error} title="Could not load this asset" onRetry={() => void asset.refetch()} />;
  const a = asset.data;
  return (
    <>
      <div className="detail-hero">
        <AssetThumbnail asset={a} size={72} />
        <div>
          <p className="cell-primary">{a.originalName}</p>
          <AssetStatusBadge status={a.status} />
        </div>
      </div>
      <AssetReason asset={a} />
      <div className="detail-actions">
        <DownloadButton asset={a} />
        {a.status !== "CLEAN" ? <span className="no-download">Only clean files can be downloaded.</span> : null}
        <DeleteButton asset={a} onDeleted={onDeleted} />
      </div>
      <dl className="detail-list">
        <dt>Owner</dt>
        <dd>{ownerEmail(a.ownerId)}</dd>
        <dt>Declared type</dt>
        <dd>{mimeLabel(a.declaredMime)}</dd>
        <dt>Detected type</dt>
        <dd>{a.detectedMime ? mimeLabel(a.detectedMime) : "not checked yet"}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(a.size ?? a.declaredSize)}</dd>
        <dt>Sent as</dt>
        <dd>{a.mode === "multipart" ? `multipart, ${formatBytes(a.partSize)} parts` : "one request"}</dd>
        <dt>SHA-256</dt>
        <dd className="mono">{a.sha256 ?? "—"}</dd>
        <dt>Storage key</dt>
        <dd className="mono">{a.key}</dd>
        <dt>Created</dt>
        <dd>{formatDate(a.createdAt)}</dd>
        <dt>Confirmed</dt>
        <dd>{formatDate(a.confirmedAt)}</dd>
        <dt>Scanned</dt>
        <dd>{formatDate(a.scannedAt)}</dd>
        {a.quarantinedAt ? (
          <>
            <dt>Quarantined</dt>
            <dd>{formatDate(a.quarantinedAt)}</dd>
          </>
        ) : null}
        {a.deletedAt ? (
          <>
            <dt>Deleted</dt>
            <dd>{formatDate(a.deletedAt)}</dd>
          </>
        ) : null}
        <dt>Scan time</dt>
        <dd>{formatDuration(a.scanDurationMs)}</dd>
        <dt>Asset id</dt>
        <dd className="mono">{a.id}</dd>
      </dl>
      <section aria-labelledby="scan-results-title">
        <h3 id="scan-results-title" className="section-title">
          Scan results
        </h3>
        {a.scanResults.length === 0 ? (
          <p className="muted">No scanner has answered yet.</p>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Scan results per engine</caption>
              <thead>
                <tr>
                  <th scope="col">Engine</th>
                  <th scope="col">Verdict</th>
                  <th scope="col">Signatures</th>
                  <th scope="col" className="numeric">
                    Time
                  </th>
                </tr>
              </thead>
              <tbody>
                {a.scanResults.map((r) => (
                  <tr key={`${r.engine}-${String(r.at)}`}>
                    <td>{r.engine}</td>
                    <td>
                      <span className={`status status-${r.verdict === "CLEAN" ? "ok" : "danger"}`}>{VERDICT[r.verdict] ?? r.verdict}</span>
                      {r.threats.length ? <span className="reason reason-danger">{r.threats.join(", ")}</span> : null}
                    </td>
                    <td className="mono">{r.signatureVersion ?? "—"}</td>
                    <td className="numeric">{formatDuration(r.durationMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <AssetHistory assetId={a.id} status={a.status} />
    </>
  );
}
