import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

// FIXME: every Prisma CLI command first tries to download the native schema engine, which fails on
// machines without internet access. `generate` does not need it (the client's query compiler is WASM),
// so point the CLI at any existing file — only when the user has not chosen a binary themselves.
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= "/bin/false";
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";

execFileSync("npx", ["prisma", "generate"], {
  cwd: fileURLToPath(new URL("..", import.meta.url)),
  env,
  stdio: "inherit",
});
