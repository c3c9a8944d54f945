import type { AppRouter } from "@airlock/api/router";
import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { authStore } from "./auth.tsx";
import { isRetryable, isUnauthorized, MESSAGES } from "./errors.ts";

/** `useTRPC()` gives `trpc.x.y.queryOptions()` / `mutationOptions()` for TanStack Query's hooks. */
export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export type ApiClient = ReturnType<typeof createApiClient>;

/**
 * A client for the API on this origin (`/trpc`; the Vite dev server proxies it). `getKey` is read
 * on every request, so signing in or out needs no new client.
 */
export function createApiClient(getKey: () => string | null) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: "/trpc",
        maxURLLength: 2000,
        headers() {
          const key = getKey();
          return key ? { Authorization: `Bearer ${key}` } : {};
        },
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
