import { redisKey } from "@airlock/shared/redis";
import type { ScanVerdict } from "@airlock/shared/scanner";
import type { Redis } from "ioredis";

/**
 * Definite verdicts by content hash and engine version: identical bytes scanned by the same
 * signatures give the same answer, so a re-upload is not rescanned. A signature update changes the
 * version and therefore the key, so nothing stale is reused.
 */
const TTL_SECONDS = 7 * 24 * 3600;

type Definite = Extract<ScanVerdict, { kind: "clean" | "infected" | "unscannable" }>;

function key(prefix: string, sha256: string, version: string) {
  return redisKey(prefix, "scan-cache", sha256, version);
}

export async function getCachedVerdict(redis: Redis, prefix: string, sha256: string, version: string): Promise<Definite | null> {
  try {
    const raw = await redis.get(key(prefix, sha256, version));
    return raw ? (JSON.parse(raw) as Definite) : null;
  } catch {
    return null;
  }
}

export async function cacheVerdict(redis: Redis, prefix: string, sha256: string, version: string, verdict: ScanVerdict): Promise<void> {
  if (verdict.kind !== "clean" && verdict.kind !== "infected" && verdict.kind !== "unscannable") return;
  await redis.set(key(prefix, sha256, version), JSON.stringify({ ...verdict, raw: undefined }), "EX", TTL_SECONDS).catch(() => {});
}
