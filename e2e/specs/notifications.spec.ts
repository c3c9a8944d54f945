import { callApi, expect, queryApi, test } from "../fixtures.ts";
import { uploadThroughApi } from "../harness/api-uploads.ts";
import { useKey } from "../harness/session.ts";

test("[NOTIFICATIONS][BELL]: a user's bell counts the notification of a scanned upload as it happens, and mark all read clears it", async ({
  page,
  request,
  stack,
  saveScreenshot,
}) => {
  test.setTimeout(60_000);
  // Earlier specs' uploads left notifications: start from none unread.
  await callApi(request, stack.user.key, "notifications.markAllRead");
  await useKey(page, stack.user.key);
  await page.goto("/uploads");
  const bell = page.getByRole("button", { name: /^Notifications/ });
  await expect(bell).toHaveAccessibleName("Notifications");
  await expect(page.getByTestId("bell-badge")).toHaveCount(0);

  const filename = `bell-${Date.now()}.txt`;
  await uploadThroughApi(request, stack.user.key, { filename, body: "ring the bell\n" });
  // No reload: the worker publishes notification.created, the bell refetches.
  await expect(page.getByTestId("bell-badge")).toHaveText("1", { timeout: 10_000 });
  await expect(bell).toHaveAccessibleName("Notifications, 1 unread");

  await bell.click();
  const panel = page.getByRole("region", { name: "Notifications" });
  const item = panel.getByRole("listitem").filter({ hasText: filename });
  await expect(item).toContainText("Upload complete");
  await expect(item).toContainText(`${filename} was scanned and is clean.`);
  await expect(item).toContainText("(unread)");
  await saveScreenshot("notifications-bell");

  await panel.getByRole("button", { name: "Mark all read" }).click();
  await expect(page.getByTestId("bell-badge")).toHaveCount(0);
  await expect(item).not.toContainText("(unread)");
  await expect(panel.getByRole("button", { name: "Mark all read" })).toBeDisabled();
  await page.keyboard.press("Escape");
  await expect(panel).toBeHidden();
  await expect(bell).toBeFocused();
});

test("[NOTIFICATIONS][MAIL-PREFERENCE]: a user turns upload mail off and on in the bell's panel, and the choice is kept", async ({
  page,
  request,
  stack,
}) => {
  const stored = async () => (await queryApi<{ emailOptOut: boolean }>(request, stack.user.key, "notifications.preferences")).emailOptOut;
  await callApi(request, stack.user.key, "notifications.updatePreferences", { emailOptOut: false });
  try {
    await useKey(page, stack.user.key);
    await page.goto("/uploads");
    await page.getByRole("button", { name: /^Notifications/ }).click();
    const panel = page.getByRole("region", { name: "Notifications" });
    const mail = panel.getByRole("checkbox", { name: "Email me when my uploads are scanned" });
    // Enabled = the stored preference has loaded (until then the box is disabled and unchecked).
    await expect(mail).toBeEnabled();
    await expect(mail).toBeChecked();
    await expect(mail).toHaveAccessibleDescription("Virus and alert mail is always sent.");

    await mail.uncheck();
    await expect.poll(stored).toBe(true);
    await page.reload();
    await page.getByRole("button", { name: /^Notifications/ }).click();
    await expect(mail).toBeEnabled();
    await expect(mail).not.toBeChecked();

    await mail.check();
    await expect.poll(stored).toBe(false);
  } finally {
    // Other specs' users expect the default.
    await callApi(request, stack.user.key, "notifications.updatePreferences", { emailOptOut: false });
  }
});
