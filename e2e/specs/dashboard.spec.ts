import { createPrismaClient } from "@airlock/db";
import { createRedis, deleteKeysWithPrefix } from "@airlock/shared/redis";
import type { Locator } from "@playwright/test";
import { expect, test } from "../fixtures.ts";
import { uploadThroughApi } from "../harness/api-uploads.ts";
import { EICAR } from "../harness/files.ts";
import { useKey } from "../harness/session.ts";

/** The integer a widget shows ("1,234" → 1234). */
async function numberIn(locator: Locator): Promise<number> {
  return Number(((await locator.textContent()) ?? "").replace(/[^\d]/g, ""));
}

test("[DASHBOARD][LIVE]: uploads made now show up in the key figures, the charts and the top uploaders without a reload", async ({
  page,
  request,
  stack,
  saveScreenshot,
}) => {
  test.setTimeout(120_000);
  await useKey(page, stack.admin.key);
  await page.goto("/dashboard?range=7");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Dashboard");
  await expect(page.getByRole("button", { name: "7 days" })).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByTestId("range-description")).toContainText("Last 7 days");
  const uploads = page.getByTestId("kpi-uploads-value");
  const threats = page.getByTestId("kpi-threats-value");
  await expect(uploads).toHaveText(/^\d[\d,.\s]*$/);
  await expect(page.getByText("Live", { exact: true })).toBeVisible();
  const uploadsBefore = await numberIn(uploads);
  const threatsBefore = await numberIn(threats);

  const stamp = Date.now();
  await uploadThroughApi(request, stack.user.key, { filename: `dash-a-${stamp}.txt`, body: `dashboard figures A ${stamp}\n` });
  await uploadThroughApi(request, stack.user.key, { filename: `dash-b-${stamp}.txt`, body: `dashboard figures B ${stamp}\n` });
  await uploadThroughApi(request, stack.user.key, { filename: `dash-eicar-${stamp}.txt`, body: EICAR }, "QUARANTINED");

  // No reload: live events (and, at worst, the API's 10 s analytics cache running out) bring them in.
  await expect(uploads).toHaveText(String(uploadsBefore + 3).replace(/\B(?=(\d{3})+(?!\d))/g, ","), { timeout: 30_000 });
  await expect(threats).toHaveText(String(threatsBefore + 1), { timeout: 15_000 });
  await expect(page.getByTestId("kpi-storage-value")).not.toHaveText("0 bytes");
  await expect(page.getByTestId("kpi-scan-avg-value")).toHaveText(/\d+(\.\d)? (ms|s)$/);

  const mime = page.getByRole("list", { name: "Confirmed uploads by type" });
  await expect(mime.locator("li", { hasText: "Plain text" })).toBeVisible();
  const failures = page.getByTestId("chart-failures");
  await expect(failures).toContainText(/\d+ quarantined/);
  await expect(failures).toContainText(/eicar/i); // the threat name on the axis
  await expect(page.getByTestId("chart-uploads")).toContainText(/\d+ started · \d+ clean · [1-9]\d* quarantined/);
  await expect(page.getByTestId("chart-uploads").locator("svg.recharts-surface").first()).toBeVisible();

  const row = page.getByTestId("top-uploaders").getByRole("row").filter({ hasText: stack.user.email });
  await expect(row).toBeVisible();
  expect(await numberIn(row.getByRole("cell").nth(1))).toBeGreaterThanOrEqual(3);
  await expect(row).toContainText("%");
  await saveScreenshot("dashboard-live");
});

test("[DASHBOARD][RANGE]: presets and a custom range live in the address; a range without uploads says so", async ({
  page,
  stack,
  saveScreenshot,
}) => {
  await useKey(page, stack.admin.key);
  await page.goto("/dashboard");
  await expect(page.getByRole("button", { name: "30 days" })).toHaveAttribute("aria-pressed", "true");
  await page.getByRole("button", { name: "90 days" }).click();
  await expect(page).toHaveURL(/[?&]range=90\b/);
  await expect(page.getByTestId("range-description")).toContainText("Last 90 days");

  const custom = page.getByRole("form", { name: "Custom date range" });
  await custom.getByLabel("From").fill("2020-02-01");
  await custom.getByLabel("To").fill("2020-01-01");
  await custom.getByRole("button", { name: "Apply" }).click();
  await expect(custom.getByRole("alert")).toHaveText("The start date is after the end date.");

  await custom.getByLabel("To").fill("2020-02-29");
  await custom.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/from=2020-02-01&to=2020-02-29/);
  await expect(page.getByTestId("chart-uploads")).toContainText("No uploads in this range.");
  await expect(page.getByTestId("top-uploaders")).toContainText("No uploads in this range.");
  await expect(page.getByTestId("kpi-uploads-value")).toHaveText("0");
  await expect(page.getByTestId("kpi-success-rate-value")).toHaveText("—");

  await page.reload();
  await expect(page.getByRole("form", { name: "Custom date range" }).getByLabel("From")).toHaveValue("2020-02-01");
  await expect(page.getByTestId("chart-mime")).toContainText("No confirmed uploads in this range.");
  await saveScreenshot("dashboard-empty-range");
});

test("[DASHBOARD][REBUILD]: after Redis lost the dashboard's counters, an administrator rebuilds them from the database", async ({
  page,
  request,
  stack,
}) => {
  test.setTimeout(90_000);
  const stamp = Date.now();
  await uploadThroughApi(request, stack.user.key, { filename: `rebuild-${stamp}.txt`, body: `rebuild me ${stamp}\n` });
  // What the figure must be: the confirmed uploads of the last 7 UTC days, counted in PostgreSQL.
  const db = createPrismaClient(stack.databaseUrl, { max: 1 });
  const since = new Date(`${new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10)}T00:00:00Z`);
  const confirmed = await db.uploadEvent.count({ where: { type: "CONFIRMED", at: { gte: since } } }).finally(() => db.$disconnect());
  const shown = confirmed.toLocaleString("en-US");
  await useKey(page, stack.admin.key);
  const uploads = page.getByTestId("kpi-uploads-value");
  await page.goto("/dashboard?range=7");
  await expect(uploads).toHaveText(/^[1-9][\d,]*$/);

  // Redis loses the aggregates (a flush, a restore from an old snapshot): the figures drop to nothing.
  const redis = createRedis(stack.redisUrl);
  try {
    expect(await deleteKeysWithPrefix(redis, `${stack.redisPrefix}:analytics`)).toBeGreaterThan(0);
  } finally {
    redis.disconnect();
  }
  await page.reload();
  await expect(uploads).toHaveText("0");

  await page.getByRole("button", { name: "Rebuild from database" }).click();
  const dialog = page.getByRole("dialog", { name: "Rebuild the figures from the database?" });
  await expect(dialog).toContainText("Last 7 days");
  await dialog.getByRole("button", { name: "Rebuild" }).click();
  // A rebuild waits out the best-effort tracking timeout (2 s) before it swaps the counters in.
  await expect(dialog).toBeHidden({ timeout: 15_000 });
  await expect(page.getByTestId("rebuild-result")).toHaveText(/^Rebuilt 7 days from [\d,]+ events? in /);
  // The counters are recomputed from the event rows: the database's figure again, not an estimate.
  await expect(uploads).toHaveText(shown);
});
