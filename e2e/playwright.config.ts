import { defineConfig, devices } from "@playwright/test";
import type { StackOptions } from "./fixtures.ts";
import { CHROMIUM_PATH } from "./harness/paths.ts";

const chromium = {
  ...devices["Desktop Chrome"],
  viewport: { width: 1280, height: 800 },
  launchOptions: {
    executablePath: CHROMIUM_PATH,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  },
};

/**
 * Browser tests against the real stack (global-setup.ts starts it) in Debian's Chromium. Run from
 * this folder: `npx playwright test`. One worker: the specs share one API and the machine has two cores.
 */
export default defineConfig<StackOptions>({
  testDir: "./specs",
  outputDir: "./test-results",
  globalSetup: "./global-setup.ts",
  globalTeardown: "./global-teardown.ts",
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 1,
  fullyParallel: false,
  timeout: 30_000,
  expect: { timeout: 5_000 },
  reporter: [
    ["list"],
    ["html", { outputFolder: "playwright-report", open: "never" }],
    ["json", { outputFile: "../.test-results/e2e.json" }],
  ],
  use: {
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    video: "off",
  },
  projects: [
    { name: "chromium", use: { ...chromium, storage: "local" } },
    /**
     * The upload flow again with the S3 driver (Ceph RGW of scripts/services.sh): browsers PUT straight
     * to the bucket with presigned URLs and CORS. Its own stack, started by its worker (fixtures.ts).
     */
    { name: "chromium-s3", testMatch: /uploads\.spec\.ts$/, use: { ...chromium, storage: "s3" } },
  ],
});
