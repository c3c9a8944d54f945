import { describe, expect, it } from "vitest";
import { compareEventIds, isEventId } from "./hub.ts";

describe("event ids (Redis stream ids)", () => {
  it("accepts only <ms>-<seq>", () => {
    expect(isEventId("1795845162138-0")).toBe(true);
    for (const bad of ["", "1795845162138", "1-", "-1", "a-1", "1-2-3", "(1-0", "1-0 "]) expect(isEventId(bad)).toBe(false);
  });

  it("orders numerically, milliseconds first, then the sequence", () => {
    expect(compareEventIds("9-0", "10-0")).toBe(-1);
    expect(compareEventIds("10-2", "10-10")).toBe(-1);
    expect(compareEventIds("10-10", "10-2")).toBe(1);
    expect(compareEventIds("1795845162138-7", "1795845162138-7")).toBe(0);
    // Beyond 2^53: compared exactly.
    expect(compareEventIds("18446744073709551615-1", "18446744073709551615-0")).toBe(1);
  });
});
