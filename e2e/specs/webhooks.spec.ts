import { expect, test } from "../fixtures.ts";
import { uploadThroughApi } from "../harness/api-uploads.ts";
import { useKey } from "../harness/session.ts";
import { startWebhookReceiver, verifySignature } from "../harness/webhook-receiver.ts";

test("[WEBHOOKS]: an administrator adds an endpoint, sees its secret once, watches a signed delivery arrive in the log and replays it", async ({
  page,
  request,
  stack,
  saveScreenshot,
}) => {
  test.setTimeout(90_000);
  const receiver = await startWebhookReceiver();
  try {
    const target = `${receiver.url}/hooks/${Date.now()}`;
    await useKey(page, stack.admin.key);
    await page.goto("/webhooks");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Webhooks");
    await page.getByRole("button", { name: "Add endpoint" }).click();

    const form = page.getByRole("form", { name: "New endpoint" });
    await form.getByLabel("Endpoint URL").fill("not a url");
    await form.getByRole("button", { name: "Create endpoint" }).click();
    await expect(form.getByRole("alert")).toContainText("full URL");
    await form.getByLabel("Endpoint URL").fill(target);
    await form.getByRole("checkbox", { name: "asset.clean" }).check();
    await form.getByRole("button", { name: "Create endpoint" }).click();

    const reveal = page.getByTestId("secret-reveal");
    await expect(reveal).toContainText("shown only this once");
    const secret = ((await reveal.getByTestId("secret-value").textContent()) ?? "").trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    const row = page.getByRole("row").filter({ hasText: target });
    await expect(row).toContainText("asset.clean");
    await expect(row.getByText("Active")).toBeVisible();
    await reveal.getByRole("button", { name: "I have stored the secret" }).click();
    await expect(reveal).toBeHidden();
    await expect(page.getByText(secret)).toHaveCount(0);

    // An event the endpoint subscribes to: a clean upload.
    await uploadThroughApi(request, stack.user.key, { filename: `hooked-${Date.now()}.txt`, body: "webhook me\n" });
    await expect.poll(() => receiver.received.length, { timeout: 20_000 }).toBe(1);
    const first = receiver.received[0];
    expect(first && verifySignature(first, secret)).toBe(true);
    expect(JSON.parse(first?.body ?? "{}")).toMatchObject({ type: "asset.clean", data: { status: "CLEAN" } });

    const log = page.getByTestId("webhook-deliveries");
    const delivered = log.getByRole("row").filter({ hasText: "asset.clean" });
    await expect(delivered).toHaveCount(1, { timeout: 15_000 });
    await expect(delivered).toContainText("Delivered", { timeout: 15_000 });
    await expect(delivered).toContainText("200");
    await expect(delivered).toContainText("thanks from the e2e receiver");
    await saveScreenshot("webhooks-delivery-log");

    await delivered.getByRole("button", { name: /^Replay delivery/ }).click();
    await expect(log.getByRole("status")).toContainText("Sent again as a new delivery");
    await expect.poll(() => receiver.received.length, { timeout: 15_000 }).toBe(2);
    expect(JSON.parse(receiver.received[1]?.body ?? "{}")).toEqual(JSON.parse(first?.body ?? "{}"));
    await expect(log.getByRole("row").filter({ hasText: "Delivered" })).toHaveCount(2, { timeout: 15_000 });

    // Rotation: a new secret, shown once, and the overlap explained.
    await row.getByRole("button", { name: /^Rotate the secret/ }).click();
    await page.getByRole("dialog", { name: "Rotate the signing secret?" }).getByRole("button", { name: "Rotate secret" }).click();
    await expect(reveal).toContainText("two signatures");
    const rotated = ((await reveal.getByTestId("secret-value").textContent()) ?? "").trim();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    await reveal.getByRole("button", { name: "I have stored the secret" }).click();

    await row.getByRole("button", { name: /^Edit / }).click();
    const edit = page.getByRole("form", { name: "Edit endpoint" });
    await expect(edit.getByRole("checkbox", { name: "asset.clean" })).toBeChecked();
    await edit.getByRole("checkbox", { name: "asset.quarantined" }).check();
    await edit.getByRole("button", { name: "Save changes" }).click();
    await expect(edit).toBeHidden();
    await expect(row).toContainText("asset.clean, asset.quarantined");

    await row.getByRole("button", { name: /^Disable / }).click();
    await expect(row).toContainText("Disabled by an administrator");
    await row.getByRole("button", { name: /^Delete / }).click();
    const confirm = page.getByRole("dialog", { name: "Delete this endpoint?" });
    await confirm.getByRole("button", { name: "Delete endpoint" }).click();
    await expect(page.getByRole("row").filter({ hasText: target })).toHaveCount(0);
    await expect(page.getByRole("status").filter({ hasText: "Deleted" })).toBeVisible();
  } finally {
    await receiver.close();
  }
});
