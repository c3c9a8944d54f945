import { Readable } from "node:stream";
import type { ScanMeta } from "../types.ts";

/** A ScanMeta for tests. */
export function metaFor(data: Buffer | number, overrides: Partial<ScanMeta> = {}): ScanMeta {
  return {
    assetId: "asset-1",
    size: typeof data === "number" ? data : data.length,
    filename: "file.bin",
    mime: "application/octet-stream",
    ...overrides,
  };
}

/** A stream of `data` cut into chunks of `chunkSize` bytes. */
export function chunked(data: Buffer, chunkSize: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) chunks.push(data.subarray(i, i + chunkSize));
  return Readable.from(chunks);
}

/** `total` bytes of `fill`, produced lazily in 1 MiB chunks (never held whole), optionally `delayMs` apart. */
export function generated(total: number, options: { fill?: number; delayMs?: number; chunkSize?: number } = {}): Readable {
  const chunkSize = options.chunkSize ?? 1024 * 1024;
  const chunk = Buffer.alloc(chunkSize, options.fill ?? 0x41);
  return Readable.from(
    (async function* () {
      for (let sent = 0; sent < total; sent += chunkSize) {
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        yield chunk.subarray(0, Math.min(chunkSize, total - sent));
      }
    })(),
  );
}

/** A stream that yields `before` and then fails. */
export function failing(before: Buffer, message = "storage read failed"): Readable {
  return Readable.from(
    (async function* () {
      yield before;
      await new Promise((r) => setTimeout(r, 5));
      throw new Error(message);
    })(),
  );
}
