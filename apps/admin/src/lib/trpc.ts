import type { AppRouter } from "@airlock/api/router";
import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { authStore } from "./auth.tsx";
import { isRetryable, isUnauthorized, MESSAGES } from "./errors.ts";

/** `useTRPC()` gives `trpc.x.y.queryOptions()` / `mutationOptions()` for TanStack Query's hooks. */
export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export type ApiClient = ReturnType<typeof createApiClient>;

/**
 * A client for the API on this origin (`/trpc`; the Vite dev server proxies it, WebSockets too).
 * Queries and mutations go over HTTP (batched); subscriptions (`events.*`) over one WebSocket at
 * `/trpc`, which opens with the first subscription and closes shortly after the last one. `getKey` is
 * read on every HTTP request and on every WebSocket (re)connection, so signing in or out needs no new
 * client.
 */
export function createApiClient(getKey: () => string | null) {
  const wsClient = createWSClient({
    url: () => `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}/trpc`,
    // Browsers cannot put headers on a WebSocket: the key goes in tRPC's first message instead.
    connectionParams: () => {
      const apiKey = getKey();
      return apiKey ? { apiKey } : {};
    },
    lazy: { enabled: true, closeMs: 5_000 },
    keepAlive: { enabled: true, intervalMs: 20_000, pongTimeoutMs: 5_000 },
    retryDelayMs: (attempt) => Math.min(500 * 2 ** attempt, 15_000),
  });
  // The socket authenticated with the key of its first message: never let another key reuse it.
  let connectedKey = getKey();
  authStore.subscribe(() => {
    const key = authStore.getState().apiKey;
    if (key === connectedKey) return;
    connectedKey = key;
    void wsClient.close();
  });
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: wsLink({ client: wsClient }),
        false: httpBatchLink({
          url: "/trpc",
          maxURLLength: 2000,
          headers() {
            const key = getKey();
            return key ? { Authorization: `Bearer ${key}` } : {};
          },
        }),
      }),
    ],
  });
}

/**
 * The query cache of the signed-in session. A 401 from any query or mutation means the key was
 * revoked (or never valid): sign out, and the login screen says why. Signing out empties the cache,
 * so the next user never sees the previous one's data.
 */
export function createQueryClient(): QueryClient {
  const onError = (error: unknown) => {
    if (isUnauthorized(error) && authStore.getState().apiKey) authStore.signOut(`You were signed out. ${MESSAGES.invalidKey}`);
  };
  const queryClient = new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        retry: (failures, error) => failures < 2 && isRetryable(error),
      },
      mutations: { retry: false },
    },
  });
  authStore.subscribe(() => {
    if (!authStore.getState().apiKey) queryClient.clear();
  });
  return queryClient;
}
