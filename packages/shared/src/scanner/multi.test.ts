import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { EICAR, MockScanner } from "./mock.ts";
import { type EngineReport, MultiScanner, resumeOf } from "./multi.ts";
import { chunked, failing, metaFor } from "./testing/streams.ts";
import type { ScanMeta, ScanVerdict, VirusScanner } from "./types.ts";

type Kind = "clean" | "infected" | "unscannable" | "error" | "pending";

function verdictOf(engine: string, kind: Kind, extra: Partial<Record<string, unknown>> = {}): ScanVerdict {
  switch (kind) {
    case "clean":
      return { kind, engine, signatureVersion: `${engine}-sig` };
    case "infected":
      return { kind, engine, threats: [`${engine}.Threat`], signatureVersion: `${engine}-sig` };
    case "unscannable":
      return { kind, engine, reason: "limits exceeded" };
    case "error":
      return { kind, engine, reason: "down", retryable: (extra.retryable as boolean | undefined) ?? true };
    case "pending":
      return { kind, engine, ref: `${engine}-ref`, retryAfterMs: (extra.retryAfterMs as number | undefined) ?? 1_000, raw: extra.raw };
  }
}

/** A scripted engine: reads (or not) its input, records what it got, answers `kind`; poll() answers from `polls`. */
class FakeEngine implements VirusScanner {
  received = Buffer.alloc(0);
  scans = 0;
  polled: string[] = [];
  constructor(
    readonly name: string,
    private readonly kind: Kind,
    private readonly options: { read?: "all" | "none" | "never-resolve" | "throw"; delayPerChunkMs?: number; polls?: Kind[] } = {},
  ) {}

  async scan(stream: Readable, _meta: ScanMeta): Promise<ScanVerdict> {
    this.scans++;
    const read = this.options.read ?? "all";
    if (read === "throw") throw new Error("engine bug");
    if (read === "never-resolve") return new Promise(() => {});
    if (read === "all") {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of stream) {
          chunks.push(chunk as Buffer);
          if (this.options.delayPerChunkMs) await new Promise((r) => setTimeout(r, this.options.delayPerChunkMs));
        }
      } catch (error) {
        return { kind: "error", engine: this.name, reason: String(error), retryable: true };
      }
      this.received = Buffer.concat(chunks);
    }
    return verdictOf(this.name, this.kind);
  }

  async poll(ref: string): Promise<ScanVerdict> {
    this.polled.push(ref);
    return verdictOf(this.name, this.options.polls?.shift() ?? "clean");
  }

  async version() {
    return `${this.name}-1`;
  }

  async health() {
    if (this.kind === "error") throw new Error(`${this.name} is down`);
  }
}

const DATA = Buffer.from("some bytes to vote on ".repeat(5_000));

function multi(engines: Array<[FakeEngine | VirusScanner, number]>, threshold = 0.5, minAnswers = 1, stallTimeoutMs?: number) {
  return new MultiScanner({ engines: engines.map(([scanner, weight]) => ({ scanner, weight })), threshold, minAnswers, stallTimeoutMs });
}

const enginesOf = (verdict: ScanVerdict) => (verdict.raw as { engines: EngineReport[] }).engines;

describe("MultiScanner decision", () => {
  it.each<[string, Kind[], number, number, Kind, string[]?]>([
    ["one infected of weight 1 is outvoted by weight 3", ["infected", "clean", "clean"], 0.5, 1, "clean"],
    ["weight 2 of 4 reaches 0.5", ["infected", "infected", "clean"], 0.5, 1, "infected", ["a.Threat", "b.Threat"]],
    ["the heavy engine alone reaches 0.5", ["clean", "clean", "infected"], 0.5, 1, "infected", ["c.Threat"]],
    ["errors do not vote: 1 of 1 answered", ["infected", "error", "error"], 0.5, 1, "infected", ["a.Threat"]],
    ["too few answers fail closed", ["clean", "error", "error"], 0.5, 2, "error"],
    ["unscannable is never clean", ["unscannable", "clean", "clean"], 0.5, 1, "unscannable"],
    ["unscannable counts towards the score but is no threat", ["unscannable", "unscannable", "clean"], 0.5, 1, "unscannable"],
    ["unscannable + infected at the threshold is infected", ["unscannable", "infected", "clean"], 0.5, 1, "infected", ["b.Threat"]],
    ["infected under the threshold with an unscannable is unscannable", ["infected", "unscannable", "clean"], 0.75, 1, "unscannable"],
    ["all clean", ["clean", "clean", "clean"], 0.5, 3, "clean"],
  ])("%s", async (_, kinds, threshold, minAnswers, expected, threats) => {
    const [a, b, c] = [new FakeEngine("a", kinds[0]!), new FakeEngine("b", kinds[1]!), new FakeEngine("c", kinds[2]!)];
    const verdict = await multi(
      [
        [a, 1],
        [b, 1],
        [c, 2],
      ],
      threshold,
      minAnswers,
    ).scan(chunked(DATA, 4096), metaFor(DATA));
    expect(verdict.kind).toBe(expected);
    if (threats) expect(verdict).toMatchObject({ threats });
    expect(enginesOf(verdict).map((r) => [r.engine, r.weight, r.verdict.kind])).toEqual([
      ["a", 1, kinds[0]],
      ["b", 1, kinds[1]],
      ["c", 2, kinds[2]],
    ]);
  });

  it("reports signature versions and a retryable flag that reflects the engines' errors", async () => {
    const clean = await multi([
      [new FakeEngine("a", "clean"), 1],
      [new FakeEngine("b", "clean"), 1],
    ]).scan(chunked(DATA, 999), metaFor(DATA));
    expect(clean).toMatchObject({ kind: "clean", engine: "multi", signatureVersion: "a=a-sig + b=b-sig" });
    const permanentError: VirusScanner = {
      name: "b",
      scan: async () => ({ kind: "error", engine: "b", reason: "bad key", retryable: false }),
      version: async () => "b-1",
      health: async () => {},
    };
    const permanent = await multi(
      [
        [new FakeEngine("a", "clean"), 1],
        [permanentError, 1],
      ],
      0.5,
      2,
    ).scan(chunked(DATA, 999), metaFor(DATA));
    expect(permanent).toMatchObject({ kind: "error", retryable: false, reason: expect.stringContaining("bad key") });
    const throwing = new FakeEngine("b", "clean", { read: "throw" });
    const thrown = await multi(
      [
        [new FakeEngine("a", "clean"), 1],
        [throwing, 1],
      ],
      0.5,
      2,
    ).scan(chunked(DATA, 999), metaFor(DATA));
    expect(thrown).toMatchObject({ kind: "error", retryable: true, reason: expect.stringContaining("engine bug") });
  });
});

describe("MultiScanner tee", () => {
  it("gives every engine exactly the same bytes", async () => {
    const engines = [new FakeEngine("a", "clean"), new FakeEngine("b", "clean", { delayPerChunkMs: 1 }), new FakeEngine("c", "clean")];
    await multi(engines.map((e) => [e, 1])).scan(chunked(DATA, 1500), metaFor(DATA));
    for (const engine of engines) expect(engine.received.equals(DATA)).toBe(true);
  });

  it("reads the source at the pace of the slowest engine", async () => {
    let pulled = 0;
    let aheadMax = 0;
    const chunk = Buffer.alloc(16 * 1024, 5);
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 128; i++) {
          pulled += chunk.length;
          yield chunk;
        }
      })(),
    );
    const slow: VirusScanner = {
      name: "slow",
      async scan(stream) {
        let consumed = 0;
        for await (const piece of stream) {
          consumed += (piece as Buffer).length;
          aheadMax = Math.max(aheadMax, pulled - consumed);
          await new Promise((r) => setTimeout(r, 2));
        }
        return { kind: "clean", engine: "slow" };
      },
      version: async () => "1",
      health: async () => {},
    };
    const verdict = await multi([
      [slow, 1],
      [new FakeEngine("fast", "clean"), 1],
    ]).scan(source, metaFor(128 * chunk.length));
    expect(verdict.kind).toBe("clean");
    expect(pulled).toBe(128 * chunk.length);
    expect(aheadMax).toBeLessThan(256 * 1024); // 2 MiB source, never more than a few chunks ahead
  });

  it("does not wait for an engine that answers without reading (hash lookup)", async () => {
    const lookup = new FakeEngine("lookup", "clean", { read: "none" });
    const reader = new FakeEngine("reader", "clean");
    const big = Buffer.alloc(4 * 1024 * 1024, 1);
    const verdict = await multi([
      [lookup, 1],
      [reader, 1],
    ]).scan(chunked(big, 64 * 1024), metaFor(big));
    expect(verdict.kind).toBe("clean");
    expect(reader.received.length).toBe(big.length);
  });

  it("cuts off an engine that stops reading, so the others finish", async () => {
    const stuck = new FakeEngine("stuck", "clean", { read: "never-resolve" });
    const reader = new FakeEngine("reader", "clean");
    const big = Buffer.alloc(2 * 1024 * 1024, 1);
    const started = Date.now();
    const lenient = await multi(
      [
        [stuck, 1],
        [reader, 1],
      ],
      0.5,
      1,
      150,
    ).scan(chunked(big, 64 * 1024), metaFor(big));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(lenient.kind).toBe("clean");
    expect(enginesOf(lenient)[0]?.verdict).toMatchObject({ kind: "error", reason: expect.stringContaining("stopped reading") });
    expect(reader.received.length).toBe(big.length);

    const strict = await multi(
      [
        [new FakeEngine("stuck", "clean", { read: "never-resolve" }), 1],
        [new FakeEngine("r", "clean"), 1],
      ],
      0.5,
      2,
      150,
    ).scan(chunked(big, 64 * 1024), metaFor(big));
    expect(strict).toMatchObject({ kind: "error", reason: expect.stringContaining("1 of 2 engines answered") });
  });

  it("is an error when the source fails, even if an engine answered without reading", async () => {
    const verdict = await multi([
      [new FakeEngine("lookup", "clean", { read: "none" }), 1],
      [new FakeEngine("reader", "clean"), 1],
    ]).scan(failing(Buffer.alloc(1000)), metaFor(5000));
    expect(verdict).toMatchObject({ kind: "error", retryable: true, reason: expect.stringContaining("storage read failed") });
  });

  it("works with real engines: EICAR through the mock and a pattern engine", async () => {
    const data = Buffer.concat([Buffer.alloc(200_000, 2), Buffer.from(EICAR)]);
    const verdict = await multi([
      [new MockScanner({ patterns: [], nodeEnv: "test" }), 1],
      [new FakeEngine("other", "clean"), 1],
    ]).scan(chunked(data, 1000), metaFor(data));
    expect(verdict).toMatchObject({ kind: "infected", threats: ["Eicar-Test-Signature"] });
  });
});

describe("MultiScanner pending engines", () => {
  it("answers pending with the finished verdicts in the ref, and polls only the pending engines", async () => {
    const a = new FakeEngine("a", "clean");
    const b = new FakeEngine("b", "pending", { polls: ["pending", "infected"] });
    const scanner = multi([
      [a, 1],
      [b, 1],
    ]);
    const first = await scanner.scan(chunked(DATA, 4096), metaFor(DATA));
    expect(first).toMatchObject({ kind: "pending", engine: "multi", retryAfterMs: 1_000 });
    if (first.kind !== "pending") throw new Error("expected pending");
    expect(JSON.parse(Buffer.from(first.ref, "base64url").toString())).toMatchObject({
      v: 1,
      engines: ["a", "b"],
      done: [{ engine: "a", verdict: { kind: "clean" } }],
      pending: [{ engine: "b", ref: "b-ref" }],
    });
    const second = await scanner.poll(first.ref, metaFor(DATA));
    expect(second.kind).toBe("pending");
    if (second.kind !== "pending") throw new Error("expected pending");
    const third = await scanner.poll(second.ref, metaFor(DATA));
    expect(third).toMatchObject({ kind: "infected", threats: ["b.Threat"] }); // 1 of 2 = 0.5
    expect(enginesOf(third).map((r) => r.verdict.kind)).toEqual(["clean", "infected"]);
    expect(a.scans).toBe(1);
    expect(a.polled).toEqual([]);
    expect(b.polled).toEqual(["b-ref", "b-ref"]);
  });

  it("is infected at once when even clean answers from the pending engines could not save the file", async () => {
    const engines = (): Array<[FakeEngine, number]> => [
      [new FakeEngine("a", "infected"), 1],
      [new FakeEngine("b", "pending"), 1],
    ];
    expect((await multi(engines(), 0.5).scan(chunked(DATA, 4096), metaFor(DATA))).kind).toBe("infected");
    expect((await multi(engines(), 0.6).scan(chunked(DATA, 4096), metaFor(DATA))).kind).toBe("pending");
  });

  it("fails closed at once when the pending engines could not bring enough answers", async () => {
    const verdict = await multi(
      [
        [new FakeEngine("a", "error"), 1],
        [new FakeEngine("b", "pending"), 1],
        [new FakeEngine("c", "error"), 1],
      ],
      0.5,
      2,
    ).scan(chunked(DATA, 4096), metaFor(DATA));
    expect(verdict.kind).toBe("error");
  });

  it("passes on an engine's need to see the bytes again", async () => {
    const rescan: VirusScanner = {
      name: "vt",
      scan: async (stream) => {
        stream.destroy();
        return { kind: "pending", engine: "vt", ref: "rescan:", retryAfterMs: 7_000, raw: { resume: "scan" } };
      },
      poll: async () => ({ kind: "error", engine: "vt", reason: "scan again", retryable: true }),
      version: async () => "vt-1",
      health: async () => {},
    };
    const verdict = await multi([
      [new FakeEngine("a", "clean"), 1],
      [rescan, 1],
    ]).scan(chunked(DATA, 4096), metaFor(DATA));
    expect(verdict).toMatchObject({ kind: "pending", retryAfterMs: 7_000 });
    expect(resumeOf(verdict)).toBe("scan");
  });

  it("refuses refs it cannot read or that name other engines", async () => {
    const scanner = multi([[new FakeEngine("a", "clean"), 1]]);
    expect(await scanner.poll("not-a-ref", metaFor(0))).toMatchObject({ kind: "error", retryable: false });
    const other = Buffer.from(JSON.stringify({ v: 1, engines: ["x"], done: [], pending: [{ engine: "x", ref: "r" }] })).toString(
      "base64url",
    );
    expect(await scanner.poll(other, metaFor(0))).toMatchObject({ kind: "error", reason: expect.stringContaining("engines changed") });
  });
});

describe("MultiScanner plumbing", () => {
  it("joins versions, and is healthy when at least minAnswers engines are", async () => {
    const scanner = multi(
      [
        [new FakeEngine("a", "clean"), 1],
        [new FakeEngine("b", "error"), 1],
      ],
      0.5,
      1,
    );
    expect(await scanner.version()).toBe("a=a-1 + b=b-1");
    await expect(scanner.health()).resolves.toBeUndefined();
    const strict = multi(
      [
        [new FakeEngine("a", "clean"), 1],
        [new FakeEngine("b", "error"), 1],
      ],
      0.5,
      2,
    );
    await expect(strict.health()).rejects.toThrow(/only 1 of 2 engines are healthy.*b is down/);
  });

  it("validates its options", () => {
    const a = new FakeEngine("a", "clean");
    expect(() => multi([])).toThrow(/at least one engine/);
    expect(() => multi([[a, 0]])).toThrow(/weight/);
    expect(() => multi([[a, 1]], 0)).toThrow(/threshold/);
    expect(() => multi([[a, 1]], 0.5, 2)).toThrow(/minAnswers/);
    expect(() =>
      multi([
        [a, 1],
        [new FakeEngine("a", "clean"), 1],
      ]),
    ).toThrow(/distinct names/);
  });

  it("passes tiny chunks through unchanged", async () => {
    const engine = new FakeEngine("a", "clean");
    await multi([[engine, 1]]).scan(chunked(DATA, 7), metaFor(DATA));
    expect(createHash("sha256").update(engine.received).digest("hex")).toBe(createHash("sha256").update(DATA).digest("hex"));
  });
});
