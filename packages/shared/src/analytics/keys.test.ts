import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addDays, dayFromEpoch, epochDay } from "./days.ts";
import { BLOCK_LEVELS, blocksContaining, coveringBlocks } from "./keys.ts";

describe("[ANALYTICS] user blocks", () => {
  it("cover a range exactly, with aligned blocks, in at most 16 sets for 366 days", () => {
    fc.assert(
      fc.property(fc.integer({ min: 18_000, max: 22_000 }), fc.integer({ min: 1, max: 366 }), (start, length) => {
        const from = dayFromEpoch(start);
        const to = addDays(from, length - 1);
        const blocks = coveringBlocks(from, to);
        let next = start;
        for (const b of blocks) {
          expect(b.start).toBe(next);
          expect(b.start % b.span).toBe(0);
          next += b.span;
        }
        expect(next).toBe(epochDay(to) + 1);
        expect(blocks.length).toBeLessThanOrEqual(2 * (BLOCK_LEVELS - 1));
      }),
    );
  });

  it("a day belongs to one block per level, and each of them contains it", () => {
    const day = "2024-02-29";
    const blocks = blocksContaining(day);
    expect(blocks.map((b) => b.span)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256]);
    for (const b of blocks) expect(epochDay(day) - b.start).toBeGreaterThanOrEqual(0);
    for (const b of blocks) expect(epochDay(day) - b.start).toBeLessThan(b.span);
  });
});
