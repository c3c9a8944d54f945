import { randomUUID } from "node:crypto";
import { cached } from "./cache.ts";
import type { AnalyticsDeps } from "./deps.ts";
import { analyticsKey, blockKey, coveringBlocks, type UserMetric } from "./keys.ts";
import { assertRange, type DayRange } from "./range.ts";
import { execPipeline, num } from "./read-days.ts";

export interface TopUploader {
  userId: string;
  /** Null when the user no longer exists. */
  email: string | null;
  name: string | null;
  /** Confirmed uploads in the range, and their bytes. */
  count: number;
  bytes: number;
  /** Shares of the range's confirmed uploads and bytes (0 when there are none). */
  countShare: number;
  bytesShare: number;
}

export interface TopUploadersInput extends DayRange {
  /** 1..100, default 10. */
  limit?: number;
  /** Rank by confirmed uploads (default) or by bytes. */
  by?: UserMetric;
}

/**
 * The users with the most confirmed uploads (or bytes) in the range. The range is covered by at most
 * ~16 aligned blocks of per-user sorted sets (keys.ts), added up by one ZUNIONSTORE: the cost grows with
 * log(days) × active users, not with events. Totals come from the blocks' `totals` sets (O(blocks)).
 * Ties: the larger userId first (Redis' reverse order).
 */
export async function topUploaders(
  deps: AnalyticsDeps,
  input: TopUploadersInput,
): Promise<DayRange & { by: UserMetric; totalCount: number; totalBytes: number; users: TopUploader[] }> {
  const range = assertRange({ from: input.from, to: input.to });
  const limit = Math.min(Math.max(Math.trunc(input.limit ?? 10), 1), 100);
  const by = input.by ?? "count";
  const other: UserMetric = by === "count" ? "bytes" : "count";
  return cached(deps, ["top", range.from, range.to, by, limit], async () => {
    const prefix = deps.env.REDIS_PREFIX;
    const blocks = coveringBlocks(range.from, range.to);
    const rankKeys = blocks.map((b) => blockKey(prefix, by, b));
    const scratch = analyticsKey(prefix, "tmp", randomUUID());
    // One set needs no union; several are added up in a scratch key removed by the same MULTI.
    const ranked = await execPipeline(
      deps,
      (p) => {
        if (rankKeys.length === 1) p.zrevrange(rankKeys[0] as string, 0, limit - 1, "WITHSCORES");
        else {
          p.zunionstore(scratch, rankKeys.length, ...rankKeys);
          p.zrevrange(scratch, 0, limit - 1, "WITHSCORES");
          p.del(scratch);
        }
      },
      { transaction: rankKeys.length > 1 },
    );
    const flat = ranked[rankKeys.length === 1 ? 0 : 1] as string[];
    const top: Array<{ userId: string; score: number }> = [];
    for (let i = 0; i < flat.length; i += 2) top.push({ userId: flat[i] as string, score: num(flat[i + 1]) });

    const ids = top.map((t) => t.userId);
    // The other metric of the top users and the range's totals: O(blocks × limit), one round trip.
    const [scores, users] = await Promise.all([
      execPipeline(deps, (p) => {
        for (const b of blocks) p.zmscore(blockKey(prefix, "totals", b), "count", "bytes");
        if (ids.length) for (const b of blocks) p.zmscore(blockKey(prefix, other, b), ...ids);
      }),
      ids.length
        ? deps.db.user.findMany({ where: { id: { in: ids } }, select: { id: true, email: true, name: true } })
        : Promise.resolve([]),
    ]);
    const totals = scores.slice(0, blocks.length) as Array<[string | null, string | null]>;
    const others = scores.slice(blocks.length) as Array<Array<string | null>>;
    const userById = new Map(users.map((u) => [u.id, u]));
    const totalCount = totals.reduce((a, [count]) => a + num(count), 0);
    const totalBytes = totals.reduce((a, [, bytes]) => a + num(bytes), 0);
    return {
      from: range.from,
      to: range.to,
      by,
      totalCount,
      totalBytes,
      users: top.map((t, i) => {
        const otherScore = others.reduce((a, scores) => a + num(scores[i]), 0);
        const count = by === "count" ? t.score : otherScore;
        const bytes = by === "bytes" ? t.score : otherScore;
        const user = userById.get(t.userId);
        return {
          userId: t.userId,
          email: user?.email ?? null,
          name: user?.name ?? null,
          count,
          bytes,
          countShare: totalCount ? count / totalCount : 0,
          bytesShare: totalBytes ? bytes / totalBytes : 0,
        };
      }),
    };
  });
}
