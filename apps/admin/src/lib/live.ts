import type { RouterOutputs } from "@airlock/api/router";
import { useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useEffect, useRef } from "react";
import { authStore } from "./auth.tsx";
import { isUnauthorized, MESSAGES } from "./errors.ts";
import { useTRPC } from "./trpc.ts";

/** One event as the API relays it (`events.assets` / `events.admin`), without its tracking id. */
export type LiveEvent = RouterOutputs["events"]["admin"] extends AsyncIterable<{ data: infer E }> ? E : never;

/** What the page can say about its live connection. */
export type LiveStatus = "connecting" | "live" | "offline";

/**
 * Subscribes to the API's live events for as long as the component is mounted: `assets` (the
 * signed-in user's own files), `notifications` (the user's own new in-app notifications) or `admin`
 * (everything; administrators only). tRPC reconnects by itself
 * and resumes from the last event id, so a short network drop loses nothing; when the server says it
 * could not replay (`resync`), every cached query is refetched instead.
 */
export function useLiveEvents(scope: "assets" | "notifications" | "admin", onEvent: (event: LiveEvent) => void): LiveStatus {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const handler = useRef(onEvent);
  useEffect(() => {
    handler.current = onEvent;
  });

  const callbacks = {
    onData: ({ data }: { data: LiveEvent }) => {
      if (data.type === "resync") void queryClient.invalidateQueries();
      handler.current(data);
    },
    onError: (error: unknown) => {
      if (isUnauthorized(error) && authStore.getState().apiKey) authStore.signOut(`You were signed out. ${MESSAGES.invalidKey}`);
    },
  };
  const subscription = useSubscription(
    scope === "admin"
      ? trpc.events.admin.subscriptionOptions(undefined, callbacks)
      : scope === "notifications"
        ? trpc.events.notifications.subscriptionOptions(undefined, callbacks)
        : trpc.events.assets.subscriptionOptions(undefined, callbacks),
  );
  if (subscription.status === "pending") return "live";
  if (subscription.status === "error") return "offline";
  return "connecting";
}
