import type { Page } from "@playwright/test";
import { callApi, expect, test } from "../fixtures.ts";

const ADMIN_PAGES = ["Dashboard", "Uploads", "Assets", "Quarantine", "Queues", "Cleanup", "Alerts", "Webhooks", "Users"];
const INVALID_KEY = "This key is invalid or has been revoked";

async function signIn(page: Page, key: string, options: { remember?: boolean } = {}) {
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.getByLabel("API key").fill(key);
  if (options.remember) await page.getByLabel("Remember on this device").check();
  await page.getByRole("button", { name: "Sign in" }).click();
}

function nav(page: Page) {
  return page.getByRole("navigation", { name: "Main" });
}

test("[AUTH][SHELL]: an admin logs in with a seeded key and sees the shell", async ({ page, stack, saveScreenshot }) => {
  await page.goto("/");

  await test.step("a wrong key is refused in words", async () => {
    await signIn(page, `ak_${"x".repeat(43)}`);
    await expect(page.getByRole("alert")).toContainText(INVALID_KEY);
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  });

  await test.step("the admin key opens the shell", async () => {
    await signIn(page, stack.admin.key);
    const header = page.getByRole("banner");
    await expect(header).toContainText("Airlock");
    await expect(header).toContainText(stack.admin.email);
    await expect(header).toContainText("Administrator");
    await expect(nav(page).getByRole("link")).toHaveText(ADMIN_PAGES);
    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Dashboard");
  });

  await test.step("the Users page lists the seeded users", async () => {
    await nav(page).getByRole("link", { name: "Users" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Users");
    const rows = page.getByRole("table").getByRole("row");
    await expect(rows.filter({ hasText: stack.admin.email })).toContainText("Administrator");
    await expect(rows.filter({ hasText: stack.user.email })).toContainText("User");
    await expect(nav(page).getByRole("link", { name: "Users" })).toHaveAttribute("aria-current", "page");
    await saveScreenshot("shell-admin-users");
  });

  await test.step("the session survives a reload of the tab", async () => {
    await page.reload();
    await expect(page.getByRole("banner")).toContainText(stack.admin.email);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Users");
  });

  await test.step("logout returns to the login screen and forgets the key", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
    await expect(page).toHaveURL(/\/$/);
    await page.reload();
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([0, 0]);
  });

  await saveScreenshot("shell-admin-logged-out");
});

test("[AUTH][SHELL]: a non-admin sees only Uploads and is told admin pages need an administrator", async ({
  page,
  stack,
  saveScreenshot,
}) => {
  await page.goto("/");
  await signIn(page, stack.user.key);

  await expect(page.getByRole("banner")).toContainText(stack.user.email);
  await expect(page.getByRole("banner")).toContainText("User");
  await expect(nav(page).getByRole("link")).toHaveText(["Uploads"]);
  await expect(page).toHaveURL(/\/uploads$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Uploads");

  for (const path of ["/dashboard", "/users"]) {
    await page.goto(path);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("This page needs an administrator");
    await expect(page.getByRole("main")).toContainText(stack.user.email);
  }
  await saveScreenshot("shell-user-needs-admin");

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});

test("[AUTH]: “remember on this device” keeps the key for new tabs until logout", async ({ page, context, stack, saveScreenshot }) => {
  await page.goto("/");
  await signIn(page, stack.admin.key);
  await expect(page.getByRole("banner")).toContainText(stack.admin.email);
  const unremembered = await context.newPage();
  await unremembered.goto("/");
  await expect(unremembered.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await unremembered.close();

  await page.getByRole("button", { name: "Log out" }).click();
  await signIn(page, stack.admin.key, { remember: true });
  await expect(page.getByRole("banner")).toContainText(stack.admin.email);
  const remembered = await context.newPage();
  await remembered.goto("/users");
  await expect(remembered.getByRole("banner")).toContainText(stack.admin.email);
  await expect(remembered.getByRole("heading", { level: 1 })).toHaveText("Users");

  await remembered.getByRole("button", { name: "Log out" }).click();
  await expect(remembered.getByRole("heading", { name: "Sign in" })).toBeVisible();
  // The other tab follows the logout (storage event), and a new tab starts signed out.
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await saveScreenshot("remember-logged-out");
  await remembered.close();
});

test("[AUTH]: a key revoked during the session signs the browser out with the reason", async ({ page, request, stack, saveScreenshot }) => {
  const fresh = await callApi<{ id: string; key: string }>(request, stack.user.key, "account.keys.create", { name: "e2e revoke" });
  await page.goto("/uploads");
  await signIn(page, fresh.key);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Uploads");

  await callApi(request, stack.user.key, "account.keys.revoke", { id: fresh.id });
  await page.reload();

  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expect(page.getByRole("status")).toContainText(INVALID_KEY);
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  await saveScreenshot("revoked-key-signed-out");
});

test("[AUTH]: an unreachable server is named as such, not as a bad key", async ({ page, stack, saveScreenshot }) => {
  await page.goto("/");
  await page.route("**/trpc/**", (route) => route.abort("connectionrefused"));
  await signIn(page, stack.admin.key);
  await expect(page.getByRole("alert")).toContainText("Cannot reach the Airlock server");
  await expect(page.getByRole("alert")).not.toContainText(INVALID_KEY);
  await saveScreenshot("server-unreachable");
});
