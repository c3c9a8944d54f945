import type { PrismaClient, Role } from "@airlock/db";
import { createApiKey } from "./api-keys.ts";

export async function createUser(db: PrismaClient, input: { email: string; name?: string; role?: Role }) {
  return db.user.create({ data: { email: input.email.toLowerCase(), name: input.name ?? null, role: input.role ?? "USER" } });
}

/**
 * Creates the first administrator and a key for it, unless an administrator already exists. Returns
 * the key (to print once) only when it created one. Safe when several processes start at once: the
 * unique email makes the losers fail the insert, and they report that an admin exists.
 */
export async function bootstrapAdmin(
  db: PrismaClient,
  email: string,
): Promise<{ created: false } | { created: true; email: string; key: string }> {
  const existing = await db.user.findFirst({ where: { role: "ADMIN" } });
  if (existing) return { created: false };
  try {
    const user = await createUser(db, { email, name: "Administrator", role: "ADMIN" });
    const { key } = await createApiKey(db, user.id, "bootstrap");
    return { created: true, email: user.email, key };
  } catch (error) {
    if ((error as { code?: string }).code === "P2002") return { created: false };
    throw error;
  }
}
