export { createPrismaClient } from "./client.ts";
export { isRecordNotFound, orNullIfNotFound } from "./errors.ts";
export * from "./generated/prisma/client.ts";
export type * from "./generated/prisma/models.ts";
