import { join } from "node:path";
import type { Page, Request } from "@playwright/test";
import { expect, test } from "../fixtures.ts";
import { addFiles, EICAR, makePng, writeLargeFile, writeTestFile } from "../harness/files.ts";
import { ARTIFACTS_DIR } from "../harness/paths.ts";
import { useKey } from "../harness/session.ts";

/** The row of the "Your recent uploads" table for a file name. */
function uploadRow(page: Page, name: string) {
  return page.getByRole("region", { name: "Your recent uploads" }).getByRole("row").filter({ hasText: name });
}

async function startUpload(page: Page, files: number) {
  await page.getByRole("button", { name: new RegExp(`^Upload ${files} file`) }).click();
}

test("[UPLOADS]: a clean image reaches CLEAN live with its thumbnail", async ({ page, stack, saveScreenshot }) => {
  const name = `sunrise-${Date.now()}.png`;
  const path = writeTestFile(name, makePng(640, 400));
  await useKey(page, stack.user.key);
  await page.goto("/uploads");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Uploads");
  await expect(page.getByTestId("upload-restrictions")).toContainText("per file");
  await expect(page.getByRole("status").filter({ hasText: "Live" })).toBeVisible();

  // The bytes go straight to the store: the API's /storage (local) or the S3 endpoint (chromium-s3).
  const put = page.waitForRequest((request) => request.method() === "PUT");
  await addFiles(page, path);
  await startUpload(page, 1);
  const target = new URL((await put).url());
  if (stack.storage === "s3") expect(target.origin).not.toBe(new URL(stack.baseUrl).origin);
  else expect(target.pathname).toMatch(/^\/storage\//);

  const row = uploadRow(page, name);
  // Every step arrives over the WebSocket: the page does not poll.
  await expect(row.getByTestId("asset-status")).toHaveText("Clean", { timeout: 20_000 });
  await expect(row.getByTestId("thumbnail")).toBeVisible({ timeout: 20_000 });
  await expect(row.getByRole("button", { name: `Download ${name}` })).toBeVisible();
  await expect(page.locator(".uppy-StatusBar")).toContainText("Complete");
  await saveScreenshot("uploads-clean-image");

  // The download link works and is an attachment.
  const download = page.waitForEvent("download");
  await row.getByRole("button", { name: `Download ${name}` }).click();
  expect((await download).suggestedFilename()).toBe(name);
});

test("[UPLOADS][QUARANTINE]: an EICAR file reaches QUARANTINED live, appears in Quarantine and offers no download", async ({
  page,
  context,
  stack,
  saveScreenshot,
}) => {
  const name = `invoice-${Date.now()}.txt`;
  const path = writeTestFile(name, EICAR);
  await useKey(page, stack.user.key);
  await page.goto("/uploads");
  await addFiles(page, path);
  await startUpload(page, 1);

  const row = uploadRow(page, name);
  await expect(row.getByTestId("asset-status")).toHaveText("Quarantined", { timeout: 20_000 });
  await expect(row).toContainText("Eicar");
  await expect(row.getByRole("button", { name: /Download/ })).toHaveCount(0);
  await saveScreenshot("uploads-eicar-quarantined");

  // An administrator sees it in Quarantine, with the threat and the owner, and no way to download it.
  const admin = await context.browser()!.newPage();
  await useKey(admin, stack.admin.key);
  await admin.goto("/quarantine");
  await expect(admin.getByRole("heading", { level: 1 })).toHaveText("Quarantine");
  const quarantined = admin.getByRole("row").filter({ hasText: name });
  await expect(quarantined).toContainText("Eicar");
  await expect(quarantined).toContainText(stack.user.email);
  await expect(quarantined).toContainText("clamav");
  await expect(quarantined.getByRole("button", { name: /Download/ })).toHaveCount(0);
  await expect(quarantined.getByRole("button", { name: `Delete now ${name}` })).toBeVisible();
  await admin.screenshot({ path: join(ARTIFACTS_DIR, "quarantine-eicar.png"), fullPage: true });
  await admin.close();
});

test("[UPLOADS]: a 60 MiB multipart upload interrupted by a page reload resumes and completes without re-sending finished parts", async ({
  page,
  stack,
  saveScreenshot,
}) => {
  test.setTimeout(120_000);
  const MiB = 1024 * 1024;
  const name = `dataset-${Date.now()}.bin`;
  const path = writeLargeFile(name, 60 * MiB);
  const isPart = (request: Request) => request.method() === "PUT" && new URL(request.url()).searchParams.has("partNumber");
  const partOf = (request: Request) => Number(new URL(request.url()).searchParams.get("partNumber"));

  await useKey(page, stack.user.key);
  await page.goto("/uploads");

  // Before the reload: parts 1–3 go through; part 4 onwards is held (as if the network stalled).
  const finishedBefore = new Set<number>();
  page.on("requestfinished", async (request) => {
    if (isPart(request) && (await request.response())?.ok()) finishedBefore.add(partOf(request));
  });
  // Part PUTs by their query, whichever store they go to (the API's /storage or the S3 endpoint).
  await page.route(
    (url) => url.searchParams.has("partNumber"),
    async (route) => {
      if (isPart(route.request()) && partOf(route.request()) >= 4) return; // never answered: the reload cuts it
      await route.continue();
    },
  );

  await addFiles(page, path);
  await startUpload(page, 1);
  await expect.poll(() => finishedBefore.size, { timeout: 30_000 }).toBe(3);
  await saveScreenshot("uploads-resume-before-reload");

  page.removeAllListeners("requestfinished");
  // Reload while part 4 is still held, so it never reaches the server; only then lift the hold.
  await page.reload();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Uploads");
  await page.unrouteAll({ behavior: "ignoreErrors" });

  // After the reload: count every part PUT the page sends.
  const sentAfter: number[] = [];
  page.on("request", (request) => {
    if (isPart(request)) sentAfter.push(partOf(request));
  });
  await addFiles(page, path);
  await expect(page.getByText(`Resuming “${name}”`).first()).toBeVisible();
  await startUpload(page, 1);

  const row = uploadRow(page, name);
  // 60 MiB is over the test clamd's StreamMaxLength (25M): the verdict is "quarantined, unscannable".
  await expect(row.getByTestId("asset-status")).toHaveAttribute("data-status", /^(CLEAN|QUARANTINED)$/, { timeout: 60_000 });
  await expect(page.locator(".uppy-StatusBar")).toContainText("Complete");

  const partCount = Math.ceil((60 * MiB) / (8 * MiB));
  expect([...finishedBefore].sort((a, b) => a - b)).toEqual([1, 2, 3]);
  expect([...new Set(sentAfter)].sort((a, b) => a - b)).toEqual(Array.from({ length: partCount - 3 }, (_, i) => i + 4));
  expect(sentAfter.filter((n) => finishedBefore.has(n))).toEqual([]);
  await saveScreenshot("uploads-resume-completed");
});
