import { describe, expect, it } from "vitest";
import { BUCKET_FIELDS, bucketField, quantile } from "./histogram.ts";

const counts = (entries: Record<string, number>) => BUCKET_FIELDS.map((f) => entries[f] ?? 0);

describe("[ANALYTICS] scan-time histogram", () => {
  it("puts a duration in the first bucket whose bound is at least it", () => {
    expect([0, 5, 6, 50, 51, 600000, 600001].map(bucketField)).toEqual([
      "le:5",
      "le:5",
      "le:10",
      "le:50",
      "le:100",
      "le:600000",
      "le:+Inf",
    ]);
  });

  it("interpolates percentiles inside the bucket that reaches the rank (Prometheus' method)", () => {
    expect(quantile(0.5, counts({}))).toBeNull();
    // 4 scans in (100, 250]: the median sits halfway.
    expect(quantile(0.5, counts({ "le:250": 4 }))).toBe(175);
    // 1 in (0, 5], 3 in (5, 10]: rank 2 of 4 is 1/3 into the second bucket.
    expect(quantile(0.5, counts({ "le:5": 1, "le:10": 3 }))).toBeCloseTo(5 + 5 / 3, 9);
    // Above the last bound: the last bound.
    expect(quantile(0.95, counts({ "le:+Inf": 2 }))).toBe(600000);
  });
});
