import type { Readable } from "node:stream";
import type { ScanMeta, ScanVerdict, VirusScanner } from "./types.ts";

/** The EICAR test string (68 bytes, no newline): every real engine reports it, so tests and demos use it. */
export const EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
/** Threat name for EICAR, as ClamAV's official signature calls it. */
export const MOCK_EICAR_THREAT = "Eicar-Test-Signature";
/** Threat name for a configured pattern. */
export const MOCK_PATTERN_THREAT = "Airlock.Mock.Pattern";

export interface MockScannerOptions {
  /** Extra byte sequences (UTF-8) reported as infected; empty strings are ignored. */
  patterns: string[];
  /** The mock refuses to exist in production (DESIGN.md §9). */
  nodeEnv: string;
}

/**
 * The development/test engine: deterministic, no daemon. Infected when EICAR or a configured pattern
 * occurs anywhere in the bytes, clean otherwise. It streams: only the last `longest pattern - 1` bytes of
 * the previous chunks are kept, so a match that straddles a chunk boundary is still found.
 */
export class MockScanner implements VirusScanner {
  readonly name = "mock";
  readonly #needles: Array<{ bytes: Buffer; threat: string }>;
  readonly #keep: number;

  constructor(options: MockScannerOptions) {
    if (options.nodeEnv === "production") {
      throw new Error("MockScanner refuses to run with NODE_ENV=production: set SCANNER_PROVIDER to clamav, virustotal or multi");
    }
    this.#needles = [
      { bytes: Buffer.from(EICAR, "latin1"), threat: MOCK_EICAR_THREAT },
      ...options.patterns.filter((p) => p.length > 0).map((p) => ({ bytes: Buffer.from(p, "utf8"), threat: MOCK_PATTERN_THREAT })),
    ];
    this.#keep = Math.max(...this.#needles.map((n) => n.bytes.length)) - 1;
  }

  async scan(stream: Readable, _meta: ScanMeta): Promise<ScanVerdict> {
    const threats = new Set<string>();
    let tail = Buffer.alloc(0);
    try {
      for await (const chunk of stream) {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
        const window = tail.length ? Buffer.concat([tail, bytes]) : bytes;
        for (const needle of this.#needles) if (window.includes(needle.bytes)) threats.add(needle.threat);
        // Copy the tail: a subarray would pin the whole (possibly large) chunk in memory.
        tail = Buffer.from(window.subarray(Math.max(0, window.length - this.#keep)));
      }
    } catch (error) {
      return { kind: "error", engine: this.name, reason: `source stream failed: ${errorMessage(error)}`, retryable: true };
    }
    if (threats.size === 0) return { kind: "clean", engine: this.name, signatureVersion: "mock-1" };
    return { kind: "infected", engine: this.name, threats: [...threats].sort(), signatureVersion: "mock-1" };
  }

  async version(): Promise<string> {
    return "mock-1";
  }

  async health(): Promise<void> {}
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
