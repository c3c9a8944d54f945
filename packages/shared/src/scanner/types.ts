import type { Readable } from "node:stream";

/**
 * What one engine says about one file. `unscannable` (limits exceeded, encrypted archive, ...) is
 * never clean: the pipeline quarantines it. `pending` means the engine is still working (VirusTotal);
 * the job is rescheduled and `poll(ref)` asked later. `error` means no verdict: retry, and fail closed.
 */
export type ScanVerdict =
  | { kind: "clean"; engine: string; signatureVersion?: string; raw?: unknown }
  | { kind: "infected"; engine: string; threats: string[]; signatureVersion?: string; raw?: unknown }
  | { kind: "unscannable"; engine: string; reason: string; signatureVersion?: string; raw?: unknown }
  | { kind: "pending"; engine: string; ref: string; retryAfterMs: number; raw?: unknown }
  | { kind: "error"; engine: string; reason: string; retryable: boolean; raw?: unknown };

export interface ScanMeta {
  assetId: string;
  size: number;
  sha256?: string | null;
  filename: string;
  mime: string;
}

export interface VirusScanner {
  readonly name: string;
  /** Streams the file through the engine; must not buffer it whole. */
  scan(stream: Readable, meta: ScanMeta): Promise<ScanVerdict>;
  /** For engines that answer `pending`: asks again about an earlier submission. */
  poll?(ref: string, meta: ScanMeta): Promise<ScanVerdict>;
  /** Engine and signature version, e.g. "ClamAV 1.4.2/27419"; part of the result-cache key. */
  version(): Promise<string>;
  /** Throws when the engine cannot scan now (for /readyz). */
  health(): Promise<void>;
  close?(): Promise<void>;
}
