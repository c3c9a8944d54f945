import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo } from "react";
import { type LiveStatus, useLiveEvents } from "./live.ts";
import { throttle } from "./throttle.ts";
import { useTRPC } from "./trpc.ts";

/** At most one refresh of every analytics query per this interval, however busy the uploads are. */
export const LIVE_THROTTLE_MS = 5_000;
/**
 * The API caches analytics answers for 10 s (ANALYTICS_CACHE_SECONDS): a refresh inside that window can
 * return the answer from before the last event. One more refresh this long after the last event makes
 * sure the final state shows.
 */
export const SETTLE_MS = 11_000;

/** Events that change what the dashboard shows: an asset changed state (upload, scan, delete), a cleanup ran. */
const ANALYTICS_EVENTS = new Set(["asset.status", "cleanup.completed"]);

/**
 * Keeps the dashboard live: each admin event that moves the numbers refreshes the analytics queries,
 * throttled, and once more after things settle. Thumbnails, alerts and notifications do not.
 */
export function useLiveAnalytics(): LiveStatus {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const refresh = useMemo(() => {
    const invalidate = () => void queryClient.invalidateQueries({ queryKey: trpc.analytics.pathKey() });
    const throttled = throttle(invalidate, LIVE_THROTTLE_MS);
    let settle: ReturnType<typeof setTimeout> | undefined;
    const onEvent = () => {
      throttled();
      clearTimeout(settle);
      settle = setTimeout(invalidate, SETTLE_MS);
    };
    onEvent.cancel = () => {
      throttled.cancel();
      clearTimeout(settle);
    };
    return onEvent;
  }, [queryClient, trpc]);
  useEffect(() => refresh.cancel, [refresh]);
  return useLiveEvents("admin", (event) => {
    if (ANALYTICS_EVENTS.has(event.type)) refresh();
  });
}
