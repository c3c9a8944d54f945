import { describe, expect, it } from "vitest";
import { addDays, daysBetween, describeRange, isDay, parseRange, presetRange, rangeParams, rangeProblem } from "./date-range.ts";

// 23:30 UTC: already the next day in UTC+1, still this day in UTC. Ranges follow UTC.
const now = new Date("2026-03-01T23:30:00Z");

describe("date range", () => {
  it("day arithmetic crosses months and leap days in UTC", () => {
    expect(addDays("2024-03-01", -1)).toBe("2024-02-29");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(daysBetween("2026-01-01", "2026-01-31")).toBe(31);
    expect(isDay("2026-02-29")).toBe(false);
    expect(isDay("2026-2-1")).toBe(false);
  });

  it("presets end today (UTC) and cover exactly N days", () => {
    expect(presetRange(7, now)).toEqual({ from: "2026-02-23", to: "2026-03-01", preset: 7 });
    const r = presetRange(90, now);
    expect(daysBetween(r.from, r.to)).toBe(90);
  });

  it("reads the URL: custom days win, then a known preset, else 30 days", () => {
    expect(parseRange(new URLSearchParams("from=2026-01-01&to=2026-01-31"), now)).toMatchObject({
      from: "2026-01-01",
      to: "2026-01-31",
      preset: "custom",
      problem: null,
    });
    expect(parseRange(new URLSearchParams("range=90"), now)).toMatchObject({ preset: 90, to: "2026-03-01", problem: null });
    expect(parseRange(new URLSearchParams("range=12"), now)).toMatchObject({ preset: 30, from: "2026-01-31" });
    expect(parseRange(new URLSearchParams(""), now)).toMatchObject({ preset: 30 });
  });

  it("a broken custom range falls back to the default and says why", () => {
    expect(parseRange(new URLSearchParams("from=2026-02-01&to=2026-01-01"), now)).toMatchObject({
      preset: 30,
      problem: "The start date is after the end date.",
    });
    expect(parseRange(new URLSearchParams("from=2024-01-01&to=2026-01-01"), now).problem).toMatch(/at most 366/);
    expect(parseRange(new URLSearchParams("from=2026-01-01"), now).problem).toBe("Choose an end date.");
  });

  it("checks a custom range the way the API does (366 days at most, both ends included)", () => {
    expect(rangeProblem("2024-01-01", "2024-12-31")).toBeNull(); // 366 days
    expect(rangeProblem("2025-01-01", "2026-01-02")).toMatch(/367 days/);
  });

  it("writes the URL: the default adds nothing, other params survive", () => {
    const current = new URLSearchParams("tab=x&from=2026-01-01&to=2026-01-02");
    expect(rangeParams({ preset: 30, from: "a", to: "b" }, current).toString()).toBe("tab=x");
    expect(rangeParams({ preset: 7, from: "a", to: "b" }).toString()).toBe("range=7");
    expect(rangeParams({ preset: "custom", from: "2026-01-01", to: "2026-01-09" }).toString()).toBe("from=2026-01-01&to=2026-01-09");
  });

  it("describes the range in words, in UTC", () => {
    expect(describeRange({ from: "2026-02-23", to: "2026-03-01", preset: 7 })).toMatch(/^Last 7 days \(.*Feb.*23.*Mar.*1.*2026, UTC\)$/);
    expect(describeRange({ from: "2026-01-01", to: "2026-01-31", preset: "custom" })).not.toMatch(/^Last/);
  });
});
