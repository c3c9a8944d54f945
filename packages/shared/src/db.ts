import { createPrismaClient, type PrismaClient } from "@airlock/db";
import { getEnv } from "./env.ts";

let instance: PrismaClient | undefined;

/**
 * The process's one database client, created on first use from the validated DATABASE_URL (so tests
 * can point a run at its own database before anything touches it).
 */
export function getDb(): PrismaClient {
  instance ??= createPrismaClient(getEnv().DATABASE_URL);
  return instance;
}

export async function disconnectDb(): Promise<void> {
  const current = instance;
  instance = undefined;
  await current?.$disconnect();
}
