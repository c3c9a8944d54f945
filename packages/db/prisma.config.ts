import { defineConfig } from "prisma/config";

// Prisma 7 reads the URL from here, never from schema.prisma; `env()` would throw when unset, so a
// missing DATABASE_URL only matters to the commands that connect.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "" },
});
