import { existsSync, rmSync } from "node:fs";
import { ARTIFACTS_DIR, CHROMIUM_PATH } from "./harness/paths.ts";
import { publishStack } from "./harness/stack.ts";
import { startStack } from "./harness/start-stack.ts";

/**
 * Starts the stack the specs run against (harness/start-stack.ts: local storage), isolated from
 * everything else on the machine; global-teardown.ts undoes it all (harness/cleanup.ts). The
 * `chromium-s3` project starts a second stack on S3 storage itself, in its worker (fixtures.ts), so runs
 * without it pay nothing for it.
 */
export default async function globalSetup(): Promise<void> {
  // Fail (never skip) without a browser: a missing Chromium must not look like a green run.
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: run \`bash scripts/services.sh start chromium\` (apt-get install -y chromium)`,
    );
  }
  rmSync(ARTIFACTS_DIR, { recursive: true, force: true });
  publishStack(await startStack("local"));
}
