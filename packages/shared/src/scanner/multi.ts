import { PassThrough, type Readable } from "node:stream";
import { z } from "zod";
import type { ScanMeta, ScanVerdict, VirusScanner } from "./types.ts";

export interface MultiEngine {
  scanner: VirusScanner;
  /** Share of the vote; any positive number (only ratios matter). */
  weight: number;
}

export interface MultiScannerOptions {
  engines: MultiEngine[];
  /** Weighted threat score in (0, 1] at or above which the file is infected. */
  threshold: number;
  /** Fewer engines with a definite answer (clean, infected, unscannable) than this → error (fail closed). */
  minAnswers: number;
  /**
   * An engine whose branch has not drained for this long is cut off (its branch destroyed, its verdict an
   * error), so one stuck engine cannot hold the others. Generous by default, since an engine may wait for a
   * connection slot before reading. Default 60 s.
   */
  stallTimeoutMs?: number;
}

/** One engine's part in a multi verdict: the worker records one ScanResult row per entry. */
export interface EngineReport {
  engine: string;
  weight: number;
  verdict: ScanVerdict;
}

const ENGINE = "multi";

const ZRef = z.object({
  v: z.literal(1),
  engines: z.array(z.string()),
  done: z.array(
    z.object({ engine: z.string(), verdict: z.custom<ScanVerdict>((v) => typeof v === "object" && v !== null && "kind" in v) }),
  ),
  pending: z.array(z.object({ engine: z.string(), ref: z.string() })),
});
type MultiRef = z.infer<typeof ZRef>;

/**
 * Several engines vote on one file. The input is teed: one PassThrough per engine, the source read at the
 * pace of the slowest live branch (no buffering beyond each branch's high-water mark). An engine that
 * returns stops counting as a reader (its branch is destroyed, so engines that answer from a hash lookup
 * without reading do not block the rest), and one that stops reading for `stallTimeoutMs` is cut off.
 *
 * Decision, over the engines with a definite answer (errors and pending engines do not vote):
 *   score = Σ weight(infected or unscannable) / Σ weight(clean, infected or unscannable)
 *   - fewer definite answers than `minAnswers`      → error (fail closed; retryable if any engine error was)
 *   - score ≥ threshold and some engine named a threat → infected, threats = union
 *   - otherwise, any engine unscannable              → unscannable. Unscannable counts towards the score
 *     (an engine that cannot look inside is a reason for suspicion) but is never reported as a threat, and
 *     never lets the file be clean: fail closed, both outcomes quarantine.
 *   - otherwise                                       → clean (an infected vote below the threshold is
 *     outvoted by design; it stays visible in raw.engines)
 * Pending engines: if even their clean answers could not pull the score under the threshold, the file is
 * infected now; otherwise the verdict is `pending` with a ref holding the finished verdicts and the
 * pending engines' refs, and poll() asks only those. A failed source stream is an error whatever the engines
 * said (some may have answered without reading, e.g. from a hash).
 */
export class MultiScanner implements VirusScanner {
  readonly name = ENGINE;
  readonly #engines: MultiEngine[];
  readonly #threshold: number;
  readonly #minAnswers: number;
  readonly #stallTimeoutMs: number;

  constructor(options: MultiScannerOptions) {
    if (options.engines.length === 0) throw new Error("MultiScanner needs at least one engine");
    for (const { scanner, weight } of options.engines) {
      if (!(weight > 0 && Number.isFinite(weight))) throw new RangeError(`weight of ${scanner.name} must be a positive number`);
    }
    const names = options.engines.map((e) => e.scanner.name);
    if (new Set(names).size !== names.length) throw new Error(`MultiScanner engines need distinct names, got ${names.join(", ")}`);
    if (!(options.threshold > 0 && options.threshold <= 1)) throw new RangeError("threshold must be in (0, 1]");
    if (!Number.isInteger(options.minAnswers) || options.minAnswers < 1 || options.minAnswers > options.engines.length) {
      throw new RangeError(`minAnswers must be an integer between 1 and ${options.engines.length}`);
    }
    this.#engines = options.engines;
    this.#threshold = options.threshold;
    this.#minAnswers = options.minAnswers;
    this.#stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
  }

  async scan(stream: Readable, meta: ScanMeta): Promise<ScanVerdict> {
    const branches = this.#engines.map(() => {
      const branch = new PassThrough({ highWaterMark: 64 * 1024 });
      // A branch is destroyed with an error when it stalls or the source fails; its engine may not be
      // listening (yet, or ever): without a listener that error would crash the process.
      branch.on("error", () => {});
      return branch;
    });
    const cutOff = branches.map(() => {
      let resolve!: (error: Error) => void;
      const promise = new Promise<Error>((r) => {
        resolve = r;
      });
      return { promise, resolve };
    });
    const teeing = tee(stream, branches, this.#stallTimeoutMs, (index, error) => cutOff[index]?.resolve(error));

    const reports = await Promise.all(
      this.#engines.map(async ({ scanner, weight }, index): Promise<EngineReport> => {
        const branch = branches[index]!;
        const scanning = Promise.resolve()
          .then(() => scanner.scan(branch, meta))
          .catch((error: unknown): ScanVerdict => engineFailure(scanner.name, `scan threw: ${messageOf(error)}`));
        const stalled = cutOff[index]!.promise.then((error): ScanVerdict => engineFailure(scanner.name, error.message));
        const verdict = await Promise.race([scanning, stalled]);
        // Answered (or cut off): whatever it has not read, it does not need. Frees the other branches.
        branch.destroy();
        return { engine: scanner.name, weight, verdict };
      }),
    );
    const { sourceError } = await teeing;
    if (sourceError) {
      return {
        kind: "error",
        engine: ENGINE,
        reason: `source stream failed: ${sourceError.message}`,
        retryable: true,
        raw: { engines: reports },
      };
    }
    return this.#decide(reports);
  }

  async poll(ref: string, meta: ScanMeta): Promise<ScanVerdict> {
    let state: MultiRef;
    try {
      state = ZRef.parse(JSON.parse(Buffer.from(ref, "base64url").toString("utf8")));
    } catch (error) {
      return { kind: "error", engine: ENGINE, reason: `unreadable multi-scanner ref: ${messageOf(error)}`, retryable: false };
    }
    const names = this.#engines.map((e) => e.scanner.name);
    if (state.engines.join("\n") !== names.join("\n")) {
      return {
        kind: "error",
        engine: ENGINE,
        reason: `the engines changed since the scan started (${state.engines.join(", ")} → ${names.join(", ")}): scan again`,
        retryable: true,
      };
    }
    const reports = await Promise.all(
      this.#engines.map(async ({ scanner, weight }): Promise<EngineReport> => {
        const done = state.done.find((d) => d.engine === scanner.name);
        if (done) return { engine: scanner.name, weight, verdict: done.verdict };
        const pending = state.pending.find((p) => p.engine === scanner.name);
        if (!pending) return { engine: scanner.name, weight, verdict: engineFailure(scanner.name, "missing from the multi-scanner ref") };
        if (!scanner.poll)
          return { engine: scanner.name, weight, verdict: engineFailure(scanner.name, "answered pending but cannot be polled") };
        const verdict = await scanner
          .poll(pending.ref, meta)
          .catch((error: unknown): ScanVerdict => engineFailure(scanner.name, `poll threw: ${messageOf(error)}`));
        return { engine: scanner.name, weight, verdict };
      }),
    );
    return this.#decide(reports);
  }

  /** The engines' versions, e.g. "clamav=ClamAV 1.4.6 + virustotal=VirusTotal v3": changes when any of them does. */
  async version(): Promise<string> {
    const versions = await Promise.all(this.#engines.map(async (e) => `${e.scanner.name}=${await e.scanner.version()}`));
    return versions.join(" + ");
  }

  /** Ready when at least `minAnswers` engines are: that is what a scan needs to reach a verdict. */
  async health(): Promise<void> {
    const results = await Promise.allSettled(this.#engines.map((e) => e.scanner.health()));
    const healthy = results.filter((r) => r.status === "fulfilled").length;
    if (healthy >= this.#minAnswers) return;
    const problems = results.flatMap((r, i) =>
      r.status === "rejected" ? [`${this.#engines[i]!.scanner.name}: ${messageOf(r.reason)}`] : [],
    );
    throw new Error(`only ${healthy} of ${this.#engines.length} engines are healthy (need ${this.#minAnswers}): ${problems.join("; ")}`);
  }

  async close(): Promise<void> {
    await Promise.all(this.#engines.map((e) => e.scanner.close?.()));
  }

  #decide(reports: EngineReport[]): ScanVerdict {
    const definite = reports.filter((r) => r.verdict.kind === "clean" || r.verdict.kind === "infected" || r.verdict.kind === "unscannable");
    const pending = reports.filter((r) => r.verdict.kind === "pending");
    const errors = reports.filter((r) => r.verdict.kind === "error");
    const answeredWeight = sum(definite);
    const suspectWeight = sum(definite.filter((r) => r.verdict.kind !== "clean"));
    const pendingWeight = sum(pending);
    const score = answeredWeight > 0 ? suspectWeight / answeredWeight : 0;
    const threats = [...new Set(definite.flatMap((r) => (r.verdict.kind === "infected" ? r.verdict.threats : [])))].sort();
    const unscannable = definite.flatMap((r) => (r.verdict.kind === "unscannable" ? [`${r.engine}: ${r.verdict.reason}`] : []));
    const signatureVersion =
      definite
        .flatMap((r) =>
          "signatureVersion" in r.verdict && r.verdict.signatureVersion ? [`${r.engine}=${r.verdict.signatureVersion}`] : [],
        )
        .join(" + ") || undefined;
    const raw = { engines: reports, score, threshold: this.#threshold, minAnswers: this.#minAnswers };

    const tooFew = () => {
      const details = errors.map((r) => `${r.engine}: ${r.verdict.kind === "error" ? r.verdict.reason : ""}`).join("; ");
      const retryable = errors.length === 0 || errors.some((r) => r.verdict.kind === "error" && r.verdict.retryable);
      return {
        kind: "error" as const,
        engine: ENGINE,
        reason: `only ${definite.length} of ${reports.length} engines answered, ${this.#minAnswers} needed${details ? ` (${details})` : ""}`,
        retryable,
        raw,
      };
    };

    if (definite.length + pending.length < this.#minAnswers) return tooFew();
    if (pending.length > 0) {
      const decided =
        threats.length > 0 && definite.length >= this.#minAnswers && suspectWeight / (answeredWeight + pendingWeight) >= this.#threshold;
      if (decided) return { kind: "infected", engine: ENGINE, threats, signatureVersion, raw };
      const ref: MultiRef = {
        v: 1,
        engines: reports.map((r) => r.engine),
        done: reports.filter((r) => r.verdict.kind !== "pending").map((r) => ({ engine: r.engine, verdict: r.verdict })),
        pending: pending.map((r) => ({ engine: r.engine, ref: r.verdict.kind === "pending" ? r.verdict.ref : "" })),
      };
      const needsScan = pending.some((r) => resumeOf(r.verdict) === "scan");
      return {
        kind: "pending",
        engine: ENGINE,
        ref: Buffer.from(JSON.stringify(ref)).toString("base64url"),
        retryAfterMs: Math.min(...pending.map((r) => (r.verdict.kind === "pending" ? r.verdict.retryAfterMs : 0))),
        // An engine that must see the bytes again makes the whole multi scan start over (see VirusTotalScanner).
        raw: { ...raw, resume: needsScan ? "scan" : "poll" },
      };
    }
    if (definite.length < this.#minAnswers) return tooFew();
    if (threats.length > 0 && score >= this.#threshold) return { kind: "infected", engine: ENGINE, threats, signatureVersion, raw };
    if (unscannable.length > 0) return { kind: "unscannable", engine: ENGINE, reason: unscannable.join("; "), signatureVersion, raw };
    return { kind: "clean", engine: ENGINE, signatureVersion, raw };
  }
}

/**
 * Copies `source` into every branch, waiting for the slowest live one. A branch counts as gone once
 * destroyed (its engine answered or failed); one that does not drain within `stallTimeoutMs` is destroyed
 * with an error and reported through `onCutOff`. Ends the live branches at the end of the source; on a
 * source error, destroys them all with it. Never rejects.
 */
async function tee(
  source: Readable,
  branches: PassThrough[],
  stallTimeoutMs: number,
  onCutOff: (index: number, error: Error) => void,
): Promise<{ sourceError?: Error }> {
  const live = () => branches.filter((b) => !b.destroyed);
  try {
    for await (const chunk of source) {
      if (live().length === 0) break; // every engine has answered: stop reading (the loop destroys the source)
      const waits: Array<Promise<void>> = [];
      for (const branch of live()) {
        if (!branch.write(chunk)) waits.push(drainOrCutOff(branch, branches.indexOf(branch), stallTimeoutMs, onCutOff));
      }
      await Promise.all(waits);
    }
    for (const branch of live()) branch.end();
    return {};
  } catch (error) {
    const sourceError = error instanceof Error ? error : new Error(String(error));
    for (const branch of branches) branch.destroy(sourceError);
    return { sourceError };
  }
}

function drainOrCutOff(
  branch: PassThrough,
  index: number,
  stallTimeoutMs: number,
  onCutOff: (index: number, error: Error) => void,
): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      branch.off("drain", done);
      branch.off("close", done);
      resolve();
    };
    const timer = setTimeout(() => {
      const error = new Error(`stopped reading its input for ${stallTimeoutMs} ms`);
      onCutOff(index, error);
      branch.destroy(error);
      done();
    }, stallTimeoutMs);
    branch.on("drain", done);
    branch.on("close", done);
  });
}

/** Whether a pending verdict can be resumed by poll() or needs the bytes again (VirusTotalScanner's `raw.resume`). */
export function resumeOf(verdict: ScanVerdict): "poll" | "scan" {
  const raw = verdict.raw as { resume?: unknown } | undefined;
  return raw?.resume === "scan" ? "scan" : "poll";
}

function sum(reports: EngineReport[]): number {
  return reports.reduce((total, r) => total + r.weight, 0);
}

function engineFailure(engine: string, reason: string): ScanVerdict {
  return { kind: "error", engine, reason, retryable: true };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
