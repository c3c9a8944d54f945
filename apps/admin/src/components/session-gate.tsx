import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { authStore, CurrentUserProvider } from "../lib/auth.tsx";
import { useTRPC } from "../lib/trpc.ts";
import { ErrorState, LoadingState } from "./states.tsx";

/**
 * Resolves the stored key to its user (`account.me`) before rendering the app. A rejected key signs
 * out (the query cache's 401 handler); an unreachable server shows an error with a retry, because
 * the key may well be fine.
 */
export function SessionGate({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const me = useQuery(trpc.account.me.queryOptions(undefined, { staleTime: 60_000 }));

  // Keep the app on screen when only a background re-check failed.
  if (me.data) return <CurrentUserProvider user={me.data}>{children}</CurrentUserProvider>;

  return (
    <div className="centered-page">
      {me.isError ? (
        <div className="card">
          <ErrorState error={me.error} title="Could not check your key" onRetry={() => void me.refetch()} />
          <button type="button" className="button button-quiet" onClick={() => authStore.signOut()}>
            Use another key
          </button>
        </div>
      ) : (
        <LoadingState label="Checking your key…" />
      )}
    </div>
  );
}
