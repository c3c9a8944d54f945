import type { RouterOutputs } from "@airlock/api/router";
import type { TAssetStatus } from "@airlock/shared/schemas";
import type { QueryClient } from "@tanstack/react-query";
import type { LiveEvent } from "./live.ts";
import type { useTRPC } from "./trpc.ts";

export type AssetItem = RouterOutputs["upload"]["list"]["items"][number];
export type AssetDetail = RouterOutputs["upload"]["get"];
type ListPage = RouterOutputs["upload"]["list"];
type Trpc = ReturnType<typeof useTRPC>;

/**
 * Position in the state machine of DESIGN §4. Assets only ever move forward, so of two views of the
 * same asset the one further along is the newer one.
 */
const RANK: Record<TAssetStatus, number> = {
  PENDING_UPLOAD: 0,
  UPLOADED: 1,
  SCANNING: 2,
  CLEAN: 3,
  QUARANTINED: 3,
  FAILED: 3,
  DELETED: 4,
};

type LivePatch = { status?: TAssetStatus; threats?: string[]; failureCode?: string | null; hasThumbnail?: boolean };

/**
 * What live events said about each asset in this tab. A list fetch that started before an event and
 * answers after it would otherwise overwrite the newer status with the older one; merging this in
 * `select` (see `withLive`) keeps whichever is further along.
 */
const seen = new Map<string, LivePatch>();
const MAX_SEEN = 5_000;

function record(assetId: string, patch: LivePatch): void {
  const previous = seen.get(assetId);
  const next = { ...previous };
  if (patch.status && (!previous?.status || RANK[patch.status] >= RANK[previous.status])) {
    next.status = patch.status;
    if (patch.threats) next.threats = patch.threats;
    if (patch.failureCode !== undefined) next.failureCode = patch.failureCode;
  }
  if (patch.hasThumbnail) next.hasThumbnail = true;
  seen.delete(assetId);
  seen.set(assetId, next);
  if (seen.size > MAX_SEEN) seen.delete(seen.keys().next().value as string);
}

/** One asset with what the live events know merged in. */
export function mergeLive<T extends Pick<AssetItem, "id" | "status" | "threats" | "failureCode" | "hasThumbnail">>(asset: T): T {
  const live = seen.get(asset.id);
  if (!live) return asset;
  let merged = asset;
  if (live.status && RANK[live.status] > RANK[asset.status]) {
    merged = {
      ...merged,
      status: live.status,
      ...(live.threats ? { threats: live.threats } : {}),
      ...(live.failureCode !== undefined ? { failureCode: live.failureCode } : {}),
    };
  }
  if (live.hasThumbnail && !merged.hasThumbnail) merged = { ...merged, hasThumbnail: true };
  return merged;
}

/** `select` for `upload.list` queries. */
export function withLive(page: ListPage): ListPage {
  return { ...page, items: page.items.map(mergeLive) };
}

/**
 * Applies a live event to every cached asset list and detail, so rows change the moment the worker
 * moves an asset, without refetching. Returns false when the asset is in no cached list (a new one,
 * or one the filters left out): the caller then refetches its list.
 */
export function applyAssetEvent(queryClient: QueryClient, trpc: Trpc, event: LiveEvent): boolean {
  if (event.type !== "asset.status" && event.type !== "asset.thumbnail") return true;
  const patch: LivePatch =
    event.type === "asset.thumbnail"
      ? { hasThumbnail: true }
      : {
          status: event.status as TAssetStatus,
          ...(event.threats ? { threats: event.threats } : {}),
          ...(event.failureCode !== undefined ? { failureCode: event.failureCode } : {}),
        };
  record(event.assetId, patch);
  let found = false;
  const patchPage = (page: ListPage): ListPage => ({
    ...page,
    items: page.items.map((item) => {
      if (item.id !== event.assetId) return item;
      found = true;
      return mergeLive(item);
    }),
  });
  queryClient.setQueriesData<ListPage>({ queryKey: trpc.upload.list.pathKey() }, (data) => (data ? patchPage(data) : data));
  queryClient.setQueriesData<AssetDetail>({ queryKey: trpc.upload.get.queryKey({ assetId: event.assetId }) }, (data) =>
    data ? mergeLive(data) : data,
  );
  // Scan results, timings and reasons arrive with the full record: refresh the detail if it is open,
  // and the lists once the asset reached a verdict (the merge above keeps them from going backwards).
  void queryClient.invalidateQueries({ queryKey: trpc.upload.get.queryKey({ assetId: event.assetId }) });
  if (found && patch.status && RANK[patch.status] >= RANK.CLEAN) {
    void queryClient.invalidateQueries({ queryKey: trpc.upload.list.pathKey() });
  }
  return found;
}
