import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { STACK_FILE } from "./paths.ts";

/** What global setup started and seeded; every spec gets it through the `stack` fixture. */
export interface StackInfo {
  /** The API, which also serves the built admin SPA at `/`. */
  baseUrl: string;
  admin: { email: string; key: string };
  user: { email: string; key: string };
  /** The run's throwaway database and Redis prefix, for specs that seed through the db package. */
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  /** The storage driver of its API and worker (harness/start-stack.ts). */
  storage: "local" | "s3";
}

/**
 * Playwright starts its workers after global setup, with the runner's environment: one variable
 * carries the whole description to every spec. The same JSON goes to test-results/stack.json for
 * people (keys included: they die with the run's database).
 */
const ENV_VAR = "AIRLOCK_E2E_STACK";

export function publishStack(info: StackInfo): void {
  process.env[ENV_VAR] = JSON.stringify(info);
  mkdirSync(dirname(STACK_FILE), { recursive: true });
  writeFileSync(STACK_FILE, `${JSON.stringify(info, null, 2)}\n`);
}

export function readStack(): StackInfo {
  const raw = process.env[ENV_VAR];
  if (!raw) throw new Error(`${ENV_VAR} is not set: run the specs with \`npx playwright test\` from e2e/ so global setup starts the stack`);
  return JSON.parse(raw) as StackInfo;
}
