import { getEnv } from "@airlock/shared/env";
import { ensureDatabase, migrate } from "./migrate.ts";

const { DATABASE_URL } = getEnv();
const created = await ensureDatabase(DATABASE_URL);
if (created) console.log("created database");
const result = await migrate(DATABASE_URL, { log: (line) => console.log(line) });
console.log(`migrations: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied`);
