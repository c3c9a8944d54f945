export { createPrismaClient } from "./client.ts";
export * from "./generated/prisma/client.ts";
export type * from "./generated/prisma/models.ts";
