import { createPrismaClient } from "@airlock/db";
import { callApi, expect, test } from "../fixtures.ts";
import { useKey } from "../harness/session.ts";

test("[CLEANUP]: dry-run shows a preview and a real run appears in history", async ({ page, request, stack, saveScreenshot }) => {
  // Arranged without the UI: an upload whose bytes were stored two days ago but never confirmed.
  const filename = `abandoned-${Date.now()}.txt`;
  const bytes = 4096;
  const init = await callApi<{ assetId: string; key: string }>(request, stack.user.key, "upload.initiate", {
    filename,
    size: bytes,
    mimeType: "text/plain",
  });
  const signed = await callApi<{ url: string; headers: Record<string, string> }>(request, stack.user.key, "upload.sign", {
    assetId: init.assetId,
    method: "PUT",
  });
  expect((await request.put(signed.url, { headers: signed.headers, data: Buffer.alloc(bytes, "a") })).ok()).toBe(true);
  const db = createPrismaClient(stack.databaseUrl, { max: 1 });
  try {
    await db.asset.update({ where: { id: init.assetId }, data: { createdAt: new Date(Date.now() - 48 * 3600_000) } });

    await useKey(page, stack.admin.key);
    await page.goto("/cleanup");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Cleanup");
    await expect(page.getByText("No preview yet")).toBeVisible();

    await test.step("a dry run previews counts, bytes and a sample, and deletes nothing", async () => {
      await page.getByRole("button", { name: "Preview (dry run)" }).click();
      const preview = page.getByRole("region", { name: "Preview" });
      await expect(preview.getByTestId("cleanup-preview")).toContainText("Abandoned uploads");
      await expect(preview.getByRole("row").filter({ hasText: init.key })).toContainText("4.0 KB");
      await expect(preview).toContainText("nothing was deleted");
      const history = page.getByRole("region", { name: "History" });
      await expect(history.getByRole("row").filter({ hasText: "Dry run" }).first()).toBeVisible();
      expect((await db.asset.findUniqueOrThrow({ where: { id: init.assetId } })).status).toBe("PENDING_UPLOAD");
      await saveScreenshot("cleanup-preview");
    });

    await test.step("a real run asks for confirmation, runs in the worker and lands in the history", async () => {
      await page.getByRole("button", { name: "Run cleanup now…" }).click();
      const dialog = page.getByRole("dialog", { name: "Run cleanup now?" });
      await expect(dialog).toContainText("permanently deletes");
      await dialog.getByRole("button", { name: "Delete now" }).click();
      await expect(dialog).toBeHidden();
      await expect(page.getByRole("status").filter({ hasText: /Cleanup (queued|finished)/ })).toBeVisible();

      // The history refreshes on the worker's `cleanup.completed` event, without a reload.
      const realRun = page.getByRole("region", { name: "History" }).getByRole("row").filter({ hasText: "Real run" }).first();
      await expect(realRun).toContainText("admin", { timeout: 20_000 });
      await expect(realRun).not.toContainText("running…", { timeout: 20_000 });
      await expect(realRun).toContainText("4.0 KB");
      await expect(page.getByRole("status").filter({ hasText: "Cleanup finished: 4.0 KB freed" })).toBeVisible();
      await expect(page.getByText("No preview yet")).toBeVisible();
      expect((await db.asset.findUniqueOrThrow({ where: { id: init.assetId } })).status).toBe("DELETED");
      await saveScreenshot("cleanup-history");
    });
  } finally {
    await db.$disconnect();
  }
});
