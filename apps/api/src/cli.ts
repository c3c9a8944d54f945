import { parseArgs } from "node:util";
import { ensureDatabase, migrate } from "@airlock/db/migrate";
import { disconnectDb, getDb } from "@airlock/shared/db";
import { getEnv } from "@airlock/shared/env";
import { createApiKey, revokeApiKey } from "./services/api-keys.ts";
import { bootstrapAdmin, createUser } from "./services/users.ts";

/**
 * Operator CLI: `npm run airlock -- <command> [options]`. Keys are printed once, on stdout alone, so
 * `KEY=$(npm run -s airlock -- keys:create --email a@b.c)` works.
 */
const usage = `usage: npm run airlock -- <command>
  users:create --email <email> [--name <name>] [--admin]   create a user and print its first API key
  keys:create  --email <email> [--name <label>]             print a new API key for that user
  keys:revoke  (--id <key id> | --prefix <ak_xxxxxxxx>)     revoke a key
  keys:list    --email <email>                              list a user's keys (never the keys themselves)
  bootstrap                                                 create the first admin (ADMIN_EMAIL) if none exists
  migrate                                                   create the database if missing and apply migrations`;

const [command, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    email: { type: "string" },
    name: { type: "string" },
    admin: { type: "boolean", default: false },
    id: { type: "string" },
    prefix: { type: "string" },
  },
  strict: true,
});

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}

const env = getEnv();
const db = getDb();
try {
  switch (command) {
    case "users:create": {
      if (!values.email) fail("--email is required");
      const user = await createUser(db, { email: values.email, name: values.name, role: values.admin ? "ADMIN" : "USER" });
      const { key } = await createApiKey(db, user.id, "cli");
      process.stderr.write(`created ${user.role.toLowerCase()} ${user.email}; the API key below is shown only once:\n`);
      process.stdout.write(`${key}\n`);
      break;
    }
    case "keys:create": {
      if (!values.email) fail("--email is required");
      const user = await db.user.findUnique({ where: { email: values.email.toLowerCase() } });
      if (!user) fail(`no user with email ${values.email}`);
      const { key } = await createApiKey(db, user.id, values.name ?? "cli");
      process.stdout.write(`${key}\n`);
      break;
    }
    case "keys:revoke": {
      if (!values.id && !values.prefix) fail("--id or --prefix is required");
      const count = await revokeApiKey(db, values.id ? { id: values.id } : { prefix: values.prefix });
      if (count === 0) fail("no active key matched");
      process.stderr.write(`revoked ${count} key(s)\n`);
      break;
    }
    case "keys:list": {
      if (!values.email) fail("--email is required");
      const keys = await db.apiKey.findMany({ where: { user: { email: values.email.toLowerCase() } }, orderBy: { createdAt: "asc" } });
      for (const k of keys) {
        process.stdout.write(
          `${k.id}  ${k.prefix}…  ${k.name ?? ""}  ${k.revokedAt ? "revoked" : "active"}  last used ${k.lastUsedAt?.toISOString() ?? "never"}\n`,
        );
      }
      break;
    }
    case "migrate": {
      if (await ensureDatabase(env.DATABASE_URL)) process.stderr.write("created the database\n");
      const result = await migrate(env.DATABASE_URL, { log: (line) => process.stderr.write(`${line}\n`) });
      process.stderr.write(`migrations: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied\n`);
      break;
    }
    case "bootstrap": {
      const result = await bootstrapAdmin(db, env.ADMIN_EMAIL);
      if (result.created) {
        process.stdout.write(`\n  First administrator: ${result.email}\n  API key (shown once, keep it safe): ${result.key}\n\n`);
      } else {
        process.stderr.write("an administrator exists already; create more keys with: npm run airlock -- keys:create --email <email>\n");
      }
      break;
    }
    default:
      fail(command ? `unknown command ${command}` : "no command given");
  }
} finally {
  await disconnectDb();
}
