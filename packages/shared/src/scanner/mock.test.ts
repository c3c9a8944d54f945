import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EICAR, MOCK_EICAR_THREAT, MOCK_PATTERN_THREAT, MockScanner } from "./mock.ts";
import { chunked, failing, metaFor } from "./testing/streams.ts";

const scanner = new MockScanner({ patterns: ["BAD-PATTERN", "ünïcode"], nodeEnv: "test" });

describe("MockScanner", () => {
  it("is clean for ordinary bytes and reports its version", async () => {
    const data = Buffer.from("just a text file");
    expect(await scanner.scan(chunked(data, 4), metaFor(data))).toEqual({ kind: "clean", engine: "mock", signatureVersion: "mock-1" });
    expect(await scanner.version()).toBe("mock-1");
    await expect(scanner.health()).resolves.toBeUndefined();
  });

  it("finds EICAR alone, embedded, and split into 1-byte chunks", async () => {
    const cases: Array<[Buffer, number[]]> = [
      [Buffer.from(EICAR), [1, 7, 67, 68]],
      [Buffer.concat([Buffer.alloc(100_000, 1), Buffer.from(EICAR), Buffer.alloc(10, 2)]), [33, 67, 4096]],
    ];
    for (const [data, sizes] of cases) {
      for (const size of sizes) {
        const verdict = await scanner.scan(chunked(data, size), metaFor(data));
        expect(verdict).toMatchObject({ kind: "infected", threats: [MOCK_EICAR_THREAT] });
      }
    }
  });

  it("finds configured patterns (UTF-8) and reports every threat once", async () => {
    const data = Buffer.from(`xx BAD-PATTERN yy ${EICAR} zz ünïcode BAD-PATTERN`);
    expect(await scanner.scan(chunked(data, 3), metaFor(data))).toMatchObject({
      kind: "infected",
      threats: [MOCK_EICAR_THREAT, MOCK_PATTERN_THREAT].sort(),
    });
  });

  it("finds a pattern wherever the chunk boundaries fall (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 90 }),
        async (before, after, include, chunkSize) => {
          const data = Buffer.concat([Buffer.from(before), include ? Buffer.from("BAD-PATTERN") : Buffer.alloc(0), Buffer.from(after)]);
          const verdict = await scanner.scan(chunked(data, chunkSize), metaFor(data));
          const expected = data.includes("BAD-PATTERN") || data.includes(EICAR);
          expect(verdict.kind).toBe(expected ? "infected" : "clean");
        },
      ),
      { numRuns: 300 },
    );
  });

  it("ignores empty patterns", async () => {
    const empty = new MockScanner({ patterns: ["", ""], nodeEnv: "development" });
    const data = Buffer.from("anything");
    expect((await empty.scan(chunked(data, 2), metaFor(data))).kind).toBe("clean");
  });

  it("answers error, never clean, when the source stream fails", async () => {
    const verdict = await scanner.scan(failing(Buffer.from("harmless start")), metaFor(100));
    expect(verdict).toMatchObject({ kind: "error", retryable: true, reason: expect.stringContaining("storage read failed") });
  });

  it("refuses to exist in production", () => {
    expect(() => new MockScanner({ patterns: [], nodeEnv: "production" })).toThrow(/refuses to run with NODE_ENV=production/);
  });
});
