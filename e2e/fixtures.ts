import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type APIRequestContext, type APIResponse, test as base, expect, type Page, type TestInfo } from "@playwright/test";
import { runCleanups } from "./harness/cleanup.ts";
import { ARTIFACTS_DIR } from "./harness/paths.ts";
import { readStack, type StackInfo } from "./harness/stack.ts";
import { type StackStorage, startStack } from "./harness/start-stack.ts";

export { expect };

interface Fixtures {
  /** The run's stack (URL, seeded users and keys); the page's baseURL points at it. */
  stack: StackInfo;
  /** Saves a full-page screenshot to e2e/artifacts/<name>.png and attaches it to the report. */
  saveScreenshot: (name: string) => Promise<void>;
  /** Uncaught errors in the page fail the test, whatever it asserted. */
  failOnPageErrors: undefined;
}

/** Per project (playwright.config.ts `use`): which stack its specs run against. */
export interface StackOptions {
  /** `local`: the stack of global setup. `s3`: a stack on S3 storage that the project's worker starts and stops. */
  storage: StackStorage;
}

interface WorkerFixtures extends StackOptions {
  workerStack: StackInfo;
}

export const test = base.extend<Fixtures, WorkerFixtures>({
  storage: ["local", { scope: "worker", option: true }],
  workerStack: [
    async ({ storage }, use) => {
      if (storage === "local") {
        await use(readStack());
        return;
      }
      // Started once per worker (one worker per project here) and torn down with it.
      const stack = await startStack(storage);
      try {
        await use(stack);
      } finally {
        await runCleanups();
      }
    },
    { scope: "worker", timeout: 120_000 },
  ],
  stack: async ({ workerStack }, use) => {
    await use(workerStack);
  },
  baseURL: async ({ stack }, use) => {
    await use(stack.baseUrl);
  },
  saveScreenshot: async ({ page, storage }, use, testInfo) => {
    // The S3 project runs the same specs: keep its screenshots beside, not over, the local ones.
    await use((name) => writeScreenshot(page, testInfo, storage === "local" ? name : `${name}-${storage}`));
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
  return answerOf<T>(procedure, response);
}

/** The same for a query procedure (tRPC answers queries on GET only, the input in `?input=`). */
export async function queryApi<T>(request: APIRequestContext, key: string, procedure: string, input?: unknown): Promise<T> {
  const query = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  const response = await request.get(`/trpc/${procedure}${query}`, { headers: { Authorization: `Bearer ${key}` } });
  return answerOf<T>(procedure, response);
}

async function answerOf<T>(procedure: string, response: APIResponse): Promise<T> {
  const body = (await response.json()) as { result?: { data: T }; error?: { message: string } };
  if (!response.ok() || !body.result) throw new Error(`${procedure} answered ${response.status()}: ${body.error?.message ?? "?"}`);
  return body.result.data;
}
