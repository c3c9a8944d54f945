import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type APIRequestContext, test as base, expect, type Page, type TestInfo } from "@playwright/test";
import { ARTIFACTS_DIR } from "./harness/paths.ts";
import { readStack, type StackInfo } from "./harness/stack.ts";

export { expect };

interface Fixtures {
  /** The run's stack (URL, seeded users and keys); the page's baseURL points at it. */
  stack: StackInfo;
  /** Saves a full-page screenshot to e2e/artifacts/<name>.png and attaches it to the report. */
  saveScreenshot: (name: string) => Promise<void>;
  /** Uncaught errors in the page fail the test, whatever it asserted. */
  failOnPageErrors: undefined;
}

export const test = base.extend<Fixtures>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright requires the destructuring pattern.
  stack: async ({}, use) => {
    await use(readStack());
  },
  baseURL: async ({ stack }, use) => {
    await use(stack.baseUrl);
  },
  saveScreenshot: async ({ page }, use, testInfo) => {
    await use((name) => writeScreenshot(page, testInfo, name));
  },
  failOnPageErrors: [
    async ({ page }, use, testInfo) => {
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.stack ?? error.message));
      await use(undefined);
      if (testInfo.status !== testInfo.expectedStatus)
        await writeScreenshot(page, testInfo, `failed-${slug(testInfo.title)}`).catch(() => {});
      expect(errors, "uncaught errors in the page").toEqual([]);
    },
    { auto: true },
  ],
});

async function writeScreenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: "image/png" });
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 80);
}

/**
 * Calls a tRPC procedure over plain HTTP as the given key, for arranging state without the UI
 * (no transformer: the body is the input JSON, the answer `{ result: { data } }`).
 */
export async function callApi<T>(request: APIRequestContext, key: string, procedure: string, input?: unknown): Promise<T> {
  const response = await request.post(`/trpc/${procedure}`, {
    headers: { Authorization: `Bearer ${key}` },
    data: input ?? {},
  });
  const body = (await response.json()) as { result?: { data: T }; error?: { message: string } };
  if (!response.ok() || !body.result) throw new Error(`${procedure} answered ${response.status()}: ${body.error?.message ?? "?"}`);
  return body.result.data;
}
