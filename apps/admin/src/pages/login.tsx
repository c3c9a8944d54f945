import { useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { authStore, useAuth } from "../lib/auth.tsx";
import { describeError } from "../lib/errors.ts";
import { createApiClient, useTRPC } from "../lib/trpc.ts";

/** People paste a whole header line or a key with stray spaces; accept both. */
function normaliseKey(raw: string): string {
  return raw.trim().replace(/^(Authorization:\s*)?Bearer\s+/i, "");
}

/**
 * Sign in with an API key. The key is checked with `account.me` through a client of its own, so a
 * wrong key never touches the stored session; only an accepted key is stored.
 */
export function LoginPage() {
  const { notice } = useAuth();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const ids = { key: useId(), hint: useId(), error: useId(), remember: useId(), rememberHint: useId() };

  useEffect(() => {
    inputRef.current?.focus();
  }, []);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const key = normaliseKey(String(form.get("apiKey") ?? ""));
    const remember = form.get("remember") === "on";
    if (!key) {
      setError("Paste an API key first.");
      inputRef.current?.focus();
      return;
    }
    setChecking(true);
    setError(null);
    try {
      const me = await createApiClient(() => key).account.me.query();
      queryClient.setQueryData(trpc.account.me.queryKey(), me);
      authStore.signIn(key, remember);
    } catch (err) {
      setError(describeError(err));
      inputRef.current?.select();
    } finally {
      setChecking(false);
    }
  }

  return (
    <main className="centered-page login">
      <title>Sign in · Airlock</title>
      <div className="card login-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          <span>Airlock</span>
        </div>
        <h1>Sign in</h1>
        <p className="muted">Paste your Airlock API key to open the admin console.</p>

        {notice && !error ? (
          <p className="notice" role="status">
            {notice}
          </p>
        ) : null}

        <form onSubmit={onSubmit} noValidate>
          <div className="field">
            <label htmlFor={ids.key}>API key</label>
            <input
              ref={inputRef}
              id={ids.key}
              name="apiKey"
              type="password"
              autoComplete="off"
              spellCheck={false}
              placeholder="ak_…"
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? `${ids.error} ${ids.hint}` : ids.hint}
            />
            <p id={ids.hint} className="hint">
              Keys start with <code>ak_</code>. An administrator creates one with{" "}
              <code>npm run airlock -- keys:create --email you@example.com</code>.
            </p>
          </div>

          <div className="field field-check">
            <input id={ids.remember} name="remember" type="checkbox" aria-describedby={ids.rememberHint} />
            <div>
              <label htmlFor={ids.remember}>Remember on this device</label>
              <p id={ids.rememberHint} className="hint">
                Keeps the key in this browser until you log out. Leave it off on shared computers.
              </p>
            </div>
          </div>

          {error ? (
            <p id={ids.error} className="form-error" role="alert">
              {error}
            </p>
          ) : null}

          <button type="submit" className="button button-primary button-block" disabled={checking}>
            {checking ? "Checking key…" : "Sign in"}
          </button>
        </form>
      </div>
    </main>
  );
}
