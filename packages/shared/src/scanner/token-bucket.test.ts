import { describe, expect, it } from "vitest";
import { TokenBucket } from "./token-bucket.ts";

describe("TokenBucket", () => {
  it("allows a burst of `capacity`, then refills continuously", () => {
    let now = 0;
    const bucket = new TokenBucket({ capacity: 4, periodMs: 60_000, now: () => now });
    for (let i = 0; i < 4; i++) expect(bucket.tryTake()).toBe(0);
    expect(bucket.tryTake()).toBe(15_000);
    now = 10_000;
    expect(bucket.tryTake()).toBe(5_000);
    now = 15_000;
    expect(bucket.tryTake()).toBe(0);
    expect(bucket.tryTake(2)).toBe(30_000);
    bucket.giveBack(2);
    expect(bucket.tryTake(2)).toBe(0);
    now = 60_000_000;
    bucket.drain();
    expect(bucket.tryTake()).toBe(15_000);
    expect(() => bucket.tryTake(5)).toThrow(RangeError);
  });
});
