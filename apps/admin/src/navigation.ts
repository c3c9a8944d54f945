import type { ComponentType } from "react";
import { type CurrentUser, isAdmin } from "./lib/auth.tsx";
import { AlertsPage } from "./pages/alerts.tsx";
import { AssetsPage } from "./pages/assets.tsx";
import { CleanupPage } from "./pages/cleanup.tsx";
import { DashboardPage } from "./pages/dashboard.tsx";
import { QuarantinePage } from "./pages/quarantine.tsx";
import { QueuesPage } from "./pages/queues.tsx";
import { UploadsPage } from "./pages/uploads.tsx";
import { UsersPage } from "./pages/users.tsx";
import { WebhooksPage } from "./pages/webhooks.tsx";

export interface PageDef {
  /** Address below `/`, without the leading slash. */
  path: string;
  label: string;
  /** Heading the navigation lists it under. */
  group: "Overview" | "Files" | "Operations" | "Administration";
  /** Hidden from the navigation and guarded by <RequireAdmin> for non-admins (the API enforces it too). */
  adminOnly: boolean;
  Component: ComponentType;
}

/** Every page of the SPA, in navigation order: the navigation and the routes are both built from this. */
export const PAGES: readonly PageDef[] = [
  { path: "dashboard", label: "Dashboard", group: "Overview", adminOnly: true, Component: DashboardPage },
  { path: "uploads", label: "Uploads", group: "Files", adminOnly: false, Component: UploadsPage },
  { path: "assets", label: "Assets", group: "Files", adminOnly: true, Component: AssetsPage },
  { path: "quarantine", label: "Quarantine", group: "Files", adminOnly: true, Component: QuarantinePage },
  { path: "queues", label: "Queues", group: "Operations", adminOnly: true, Component: QueuesPage },
  { path: "cleanup", label: "Cleanup", group: "Operations", adminOnly: true, Component: CleanupPage },
  { path: "alerts", label: "Alerts", group: "Operations", adminOnly: true, Component: AlertsPage },
  { path: "webhooks", label: "Webhooks", group: "Operations", adminOnly: true, Component: WebhooksPage },
  { path: "users", label: "Users", group: "Administration", adminOnly: true, Component: UsersPage },
];

/** The pages this user may open, in navigation order. */
export function pagesFor(user: CurrentUser): PageDef[] {
  return PAGES.filter((page) => isAdmin(user) || !page.adminOnly);
}

/** Pages grouped under their navigation headings, groups in first-appearance order. */
export function groupPages(pages: readonly PageDef[]): Array<[PageDef["group"], PageDef[]]> {
  const groups = new Map<PageDef["group"], PageDef[]>();
  for (const page of pages) groups.set(page.group, [...(groups.get(page.group) ?? []), page]);
  return [...groups];
}
