import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { PrismaClient, Role } from "@airlock/db";

/**
 * API keys look like `ak_<43 url-safe characters>` (256 random bits). Only their sha256 is stored;
 * the key itself is returned once, at creation. A key identifies its user on every request.
 */
export const API_KEY_PREFIX = "ak_";
const KEY_PATTERN = /^ak_[A-Za-z0-9_-]{43}$/;
/** lastUsedAt is only written when older than this, so authenticated traffic does not write every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface AuthenticatedUser {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  apiKeyId: string;
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
  return { key, prefix: key.slice(0, 11), hash: hashApiKey(key) };
}

export async function createApiKey(db: PrismaClient, userId: string, name?: string): Promise<{ id: string; key: string; prefix: string }> {
  const { key, prefix, hash } = generateApiKey();
  const row = await db.apiKey.create({ data: { userId, name: name ?? null, prefix, hash } });
  return { id: row.id, key, prefix };
}

/** Returns the key's user, or null for a malformed, unknown or revoked key. */
export async function authenticateApiKey(db: PrismaClient, presented: string): Promise<AuthenticatedUser | null> {
  if (!KEY_PATTERN.test(presented)) return null;
  const hash = hashApiKey(presented);
  // One round trip: `findUnique({ include: { user: true } })` is two sequential queries (key, then user),
  // and this lookup runs on every authenticated request (bench/api.ts: the largest per-request cost).
  const rows = await db.$queryRaw<
    Array<{
      id: string;
      hash: string;
      revokedAt: Date | null;
      lastUsedAt: Date | null;
      userId: string;
      email: string;
      name: string | null;
      role: Role;
    }>
  >`SELECT k.id, k.hash, k."revokedAt", k."lastUsedAt", u.id AS "userId", u.email, u.name, u.role::text AS role
    FROM "ApiKey" k JOIN "User" u ON u.id = k."userId" WHERE k.hash = ${hash}`;
  const row = rows[0];
  if (!row || row.revokedAt) return null;
  // The index lookup already matched; compare again in constant time so no code path branches on
  // a partial match of attacker-controlled input.
  if (!timingSafeEqual(Buffer.from(row.hash, "hex"), Buffer.from(hash, "hex"))) return null;
  const now = Date.now();
  if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } });
  }
  return { id: row.userId, email: row.email, name: row.name, role: row.role, apiKeyId: row.id };
}

export async function revokeApiKey(db: PrismaClient, where: { id?: string; prefix?: string; userId?: string }): Promise<number> {
  const result = await db.apiKey.updateMany({
    where: { ...where, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return result.count;
}

/** Reads `Authorization: Bearer ak_...`; anything else yields undefined. */
export function bearerToken(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
