// One closing line for CI over every runner of `npm test`: "tests: N passed, N failed".
import { readFileSync } from "node:fs";

const read = (file) => JSON.parse(readFileSync(new URL(`../.test-results/${file}`, import.meta.url), "utf8"));
const vitest = read("vitest.json");
const e2e = read("e2e.json");
const passed = vitest.numPassedTests + (e2e.stats?.expected ?? 0);
const failed = vitest.numFailedTests + (e2e.stats?.unexpected ?? 0) + (e2e.stats?.flaky ?? 0);
const skipped = vitest.numPendingTests + vitest.numTodoTests + (e2e.stats?.skipped ?? 0);
console.log(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exitCode = failed > 0 ? 1 : 0;
