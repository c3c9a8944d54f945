import { describe, expect, it } from "vitest";
import {
  formatPercent,
  isQuiet,
  mimeSlices,
  outcomeRows,
  reasonRows,
  scanQueueDepth,
  storageRows,
  type TimeseriesPoint,
} from "./dashboard-data.ts";

const point = (day: string, counts: Partial<TimeseriesPoint> = {}): TimeseriesPoint => ({
  day,
  initiated: 0,
  confirmed: 0,
  failed: 0,
  scanned: 0,
  quarantined: 0,
  deleted: 0,
  bytesConfirmed: 0,
  ...counts,
});

const mime = (m: string, confirmed: number, initiated = confirmed) => ({
  mime: m,
  initiated,
  confirmed,
  failed: 0,
  scanned: confirmed,
  quarantined: 0,
  deleted: 0,
  bytes: confirmed * 10,
  share: null,
});

describe("dashboard data", () => {
  it("formats shares as percentages, and nothing to divide by as a dash", () => {
    expect(formatPercent(0.4213)).toBe("42.1 %");
    expect(formatPercent(1)).toBe("100.0 %");
    expect(formatPercent(null)).toBe("—");
  });

  it("outcomes per day: a quarantined file is scanned too, so clean = scanned − quarantined", () => {
    const [row] = outcomeRows([point("2026-03-01", { initiated: 5, confirmed: 4, scanned: 3, quarantined: 1, failed: 1 })]);
    expect(row).toMatchObject({ day: "2026-03-01", started: 5, clean: 2, quarantined: 1, failed: 1 });
  });

  it("a range without any upload is quiet", () => {
    expect(isQuiet([point("2026-03-01"), point("2026-03-02", { deleted: 2 })])).toBe(true);
    expect(isQuiet([point("2026-03-01", { initiated: 1 })])).toBe(false);
  });

  it("MIME slices keep the largest types by confirmed uploads and fold the rest into Other", () => {
    const items = [mime("a", 50), mime("b", 20), mime("c", 10), mime("d", 10), mime("e", 5), mime("f", 3), mime("g", 2), mime("h", 0, 4)];
    const slices = mimeSlices(items, (m) => m.toUpperCase(), 4);
    expect(slices.map((s) => [s.name, s.value])).toEqual([
      ["A", 50],
      ["B", 20],
      ["C", 10],
      ["Other", 20],
    ]);
    expect(slices[0]?.share).toBe(0.5);
    expect(mimeSlices([mime("x", 0, 3)], (m) => m)).toEqual([]);
  });

  it("failure rows merge both kinds, most frequent first, codes in words", () => {
    const rows = reasonRows(
      { total: 3, moreReasons: 0, reasons: [{ reason: "object_missing", count: 3, share: 1, examples: [] }] },
      { total: 5, moreReasons: 0, reasons: [{ reason: "Eicar-Signature", count: 5, share: 1, examples: [] }] },
    );
    expect(rows).toEqual([
      { reason: "Eicar-Signature", kind: "Quarantined", count: 5, share: 1 },
      { reason: "File never arrived", kind: "Failed", count: 3, share: 1 },
    ]);
  });

  it("storage rows read the end-of-day levels by status", () => {
    const levels = { UPLOADED: 1, CLEAN: 2, QUARANTINED: 3, FAILED: 4, total: 10 };
    expect(storageRows([{ day: "2026-03-01", bytes: levels, assets: levels }])[0]).toMatchObject({
      waiting: 1,
      clean: 2,
      quarantined: 3,
      failed: 4,
      total: 10,
    });
  });

  it("the scan queue depth is the scan queue's unfinished jobs", () => {
    const counts = { waiting: 2, prioritized: 0, delayed: 1, active: 1, failed: 9, completed: 100 };
    expect(scanQueueDepth([{ name: "asset-virus-scan", paused: false, counts, pending: 4 }])).toBe(4);
    expect(scanQueueDepth([])).toBeNull();
  });
});
