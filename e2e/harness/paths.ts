import { fileURLToPath } from "node:url";

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

export const REPO_ROOT = here("../../");
export const E2E_DIR = here("../");
export const ADMIN_DIR = here("../../apps/admin/");
export const ADMIN_DIST_DIR = here("../../apps/admin/dist/");
/** Playwright's outputDir; it empties it at the start of every run, before global setup. */
export const RESULTS_DIR = here("../test-results/");
export const LOG_DIR = here("../test-results/logs/");
/** Screenshots each spec saves on purpose (and on failure); emptied by global setup. */
export const ARTIFACTS_DIR = here("../artifacts/");
/** What global setup started, for people and tools (specs read the environment). */
export const STACK_FILE = here("../test-results/stack.json");
/** Debian's Chromium (scripts/services.sh installs it); Playwright's own browser downloads are not reachable here. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
