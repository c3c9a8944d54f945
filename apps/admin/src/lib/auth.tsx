import type { RouterOutputs } from "@airlock/api/router";
import { createContext, type ReactNode, useContext, useSyncExternalStore } from "react";

/**
 * The signed-in state of the SPA is one API key. It lives in sessionStorage (this tab, until it
 * closes) unless the user ticks "remember on this device", which moves it to localStorage. It is
 * never in a cookie, so the API needs no CSRF protection; an XSS could read it either way, which is
 * why the CSP forbids inline scripts.
 *
 * The store is a plain module (not React state) so the tRPC link reads the current key on every
 * request and the query cache's error handler can sign out from outside React.
 */
const STORAGE_KEY = "airlock.apiKey";

export interface AuthState {
  /** Sent as `Authorization: Bearer <apiKey>`; null when signed out. */
  readonly apiKey: string | null;
  /** The key is kept in localStorage ("remember on this device"). */
  readonly remembered: boolean;
  /** Why the last session ended (shown on the login screen); null after a plain logout. */
  readonly notice: string | null;
}

function storage(kind: "localStorage" | "sessionStorage"): Storage | null {
  try {
    return window[kind];
  } catch {
    return null; // storage disabled by the browser: the key lives in memory only
  }
}

function readStored(): AuthState {
  try {
    const remembered = storage("localStorage")?.getItem(STORAGE_KEY);
    if (remembered) return { apiKey: remembered, remembered: true, notice: null };
    const session = storage("sessionStorage")?.getItem(STORAGE_KEY);
    if (session) return { apiKey: session, remembered: false, notice: null };
  } catch {
    // unreadable storage counts as signed out
  }
  return { apiKey: null, remembered: false, notice: null };
}

function writeStored(apiKey: string | null, remembered: boolean): void {
  for (const kind of ["localStorage", "sessionStorage"] as const) {
    try {
      const target = storage(kind);
      if (apiKey && (kind === "localStorage") === remembered) target?.setItem(STORAGE_KEY, apiKey);
      else target?.removeItem(STORAGE_KEY);
    } catch {
      // quota or privacy mode: the session still works in memory for this tab
    }
  }
}

let state: AuthState = readStored();
const listeners = new Set<() => void>();

function setState(next: AuthState): void {
  state = next;
  for (const listener of listeners) listener();
}

export const authStore = {
  getState: (): AuthState => state,

  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },

  /** Call only with a key the API has just accepted (`account.me`). */
  signIn(apiKey: string, remember: boolean): void {
    writeStored(apiKey, remember);
    setState({ apiKey, remembered: remember, notice: null });
  },

  /** Forgets the key everywhere. Idempotent: several failing requests may all report the same 401. */
  signOut(notice: string | null = null): void {
    if (state.apiKey === null && state.notice === notice) return;
    writeStored(null, false);
    setState({ apiKey: null, remembered: false, notice });
  },
};

// A logout in another tab removes the remembered key: follow it here too.
window.addEventListener("storage", (event) => {
  if (event.key !== STORAGE_KEY && event.key !== null) return;
  if (state.remembered && !storage("localStorage")?.getItem(STORAGE_KEY)) setState({ apiKey: null, remembered: false, notice: null });
});

export function useAuth(): AuthState {
  return useSyncExternalStore(authStore.subscribe, authStore.getState);
}

/** What `account.me` returns: the user the current key belongs to. */
export type CurrentUser = RouterOutputs["account"]["me"];

const CurrentUserContext = createContext<CurrentUser | null>(null);

export function CurrentUserProvider({ user, children }: { user: CurrentUser; children: ReactNode }) {
  return <CurrentUserContext value={user}>{children}</CurrentUserContext>;
}

/** The signed-in user; only inside the session gate (the login screen has none). */
export function useCurrentUser(): CurrentUser {
  const user = useContext(CurrentUserContext);
  if (!user) throw new Error("useCurrentUser() used outside <CurrentUserProvider>");
  return user;
}

export function isAdmin(user: CurrentUser): boolean {
  return user.role === "ADMIN";
}
