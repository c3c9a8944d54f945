import type { Page } from "@playwright/test";

/**
 * Starts the tab signed in with `key`, as the login screen would leave it (sessionStorage), for specs
 * whose subject is not signing in (the [AUTH] specs sign in through the form). Survives reloads.
 */
export async function useKey(page: Page, key: string): Promise<void> {
  await page.addInitScript((apiKey) => {
    window.sessionStorage.setItem("airlock.apiKey", apiKey);
  }, key);
}
