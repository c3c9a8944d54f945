import type { APIRequestContext } from "@playwright/test";
import { callApi, expect, test } from "../fixtures.ts";
import { useKey } from "../harness/session.ts";

/** Uploads a small text file through the API as `key` and waits until the worker has scanned it. */
async function uploadClean(request: APIRequestContext, key: string, filename: string): Promise<string> {
  const body = Buffer.from("quarterly figures, nothing to see here\n");
  const init = await callApi<{ assetId: string }>(request, key, "upload.initiate", { filename, size: body.length, mimeType: "text/plain" });
  const signed = await callApi<{ url: string; headers: Record<string, string> }>(request, key, "upload.sign", {
    assetId: init.assetId,
    method: "PUT",
  });
  expect((await request.put(signed.url, { headers: signed.headers, data: body })).ok()).toBe(true);
  await callApi(request, key, "upload.confirm", { assetId: init.assetId });
  const status = async () => {
    const input = encodeURIComponent(JSON.stringify({ assetId: init.assetId }));
    const response = await request.get(`/trpc/upload.status?input=${input}`, { headers: { Authorization: `Bearer ${key}` } });
    return ((await response.json()) as { result?: { data: { status: string } } }).result?.data.status;
  };
  await expect.poll(status, { timeout: 20_000 }).toBe("CLEAN");
  return init.assetId;
}

test("[ASSETS]: an administrator filters assets by status and owner and opens the scan results per engine", async ({
  page,
  request,
  stack,
  saveScreenshot,
}) => {
  const filename = `figures-${Date.now()}.txt`;
  await uploadClean(request, stack.user.key, filename);

  await useKey(page, stack.admin.key);
  await page.goto("/assets");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Assets");
  const filters = page.getByRole("form", { name: "Filter assets" });
  await filters.getByLabel("Status").selectOption({ label: "Clean" });
  await filters.getByLabel("Owner").selectOption({ label: stack.user.email });
  const row = page.getByRole("row").filter({ hasText: filename });
  await expect(row).toContainText(stack.user.email);
  await expect(row.getByTestId("asset-status")).toHaveText("Clean");
  for (const status of await page.getByRole("table").getByTestId("asset-status").allTextContents()) expect(status).toBe("Clean");

  await row.getByRole("button", { name: filename, exact: true }).click();
  const drawer = page.getByRole("dialog", { name: "Asset details" });
  await expect(drawer.getByRole("table", { name: "Scan results per engine" })).toContainText("clamav");
  await expect(drawer.getByRole("table", { name: "Scan results per engine" })).toContainText("Clean");
  await expect(drawer.getByRole("button", { name: `Download ${filename}` })).toBeVisible();
  const timeline = drawer.getByRole("list", { name: "Upload events" });
  await expect(timeline.getByRole("listitem")).toHaveText([/^Upload started/, /^Upload confirmed/, /^Scanned.*by clamav/]);
  await expect(drawer.getByText("No security events for this asset.")).toBeVisible();
  await saveScreenshot("assets-detail");
  await drawer.getByRole("button", { name: "Close details" }).click();
  await expect(drawer).toBeHidden();

  await filters.getByLabel("Status").selectOption({ label: "Quarantined" });
  await filters.getByLabel("Owner").selectOption({ label: stack.admin.email });
  await expect(page.getByText("No assets match these filters")).toBeVisible();
  await filters.getByRole("button", { name: "Clear filters" }).click();
  await expect(page.getByRole("row").filter({ hasText: filename })).toBeVisible();
  await saveScreenshot("assets-list");
});

test("[QUEUES]: an administrator sees the jobs of every queue per state", async ({ page, stack, saveScreenshot }) => {
  await useKey(page, stack.admin.key);
  await page.goto("/queues");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Queues");
  const table = page.getByRole("table", { name: "Jobs per queue and state" });
  for (const queue of ["asset-virus-scan", "asset-thumbnail", "upload-cleanup", "upload-reconcile"]) {
    await expect(table.getByRole("row").filter({ hasText: queue })).toBeVisible();
  }
  await expect(table.getByRole("columnheader")).toContainText([
    "Queue",
    "Waiting",
    "Prioritized",
    "Delayed",
    "Active",
    "Failed",
    "Completed",
  ]);
  await saveScreenshot("queues");

  // A plain user's key is refused by the API as well as by the page.
  const user = await page.context().browser()!.newPage();
  await useKey(user, stack.user.key);
  await user.goto("/queues");
  await expect(user.getByRole("heading", { level: 1 })).toHaveText("This page needs an administrator");
  await user.close();
});
