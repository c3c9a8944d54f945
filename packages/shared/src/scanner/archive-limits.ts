/**
 * Defence in depth against decompression bombs, before any engine sees the file. clamd 1.4 answers `OK`
 * for a deflate bomb (one 300 MB entry in a 300 KB zip) even with `AlertExceedsMax`, so the airlock reads
 * what a ZIP says about itself — its central directory, at the end of the file — and calls the file
 * unscannable when it expands past what the engine scans in full, or at a ratio no real content reaches.
 * Nothing is decompressed. ZIP is the container checked: office documents (docx, xlsx, odt), jar, apk,
 * epub and self-extracting executables are ZIPs too; other formats are left to the engine.
 */

export interface ArchiveLimits {
  /** Entries listed (clamd's MaxFiles: it stops scanning after this many). */
  maxEntries: number;
  /** Bytes one entry expands to (clamd's MaxFileSize: larger entries are not scanned). */
  maxEntryBytes: number;
  /** Bytes all entries expand to (clamd's MaxScanSize). */
  maxExpandedBytes: number;
  /** Expanded ÷ stored size above which an archive of at least RATIO_FLOOR_BYTES is a bomb. */
  maxRatio: number;
}

/** Small archives of repetitive data compress very well and harm no one: the ratio only counts from here. */
export const RATIO_FLOOR_BYTES = 10 * 1024 * 1024;

export interface ZipDirectory {
  entries: number;
  /** Sum of the entries' uncompressed sizes, as the directory declares them. */
  expandedBytes: number;
  largestEntryBytes: number;
}

/** Reads bytes [start, end] (inclusive) of the file, as StorageDriver.readRange does. */
export type RangeReader = (start: number, end: number) => Promise<Buffer>;

/** The end of central directory record's signature, 0x06054b50 little-endian. */
const EOCD = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL_HEADER = 0x02014b50;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;
/** End of central directory record (22) + the longest comment (65,535) + the ZIP64 locator before it (20). */
const TAIL_BYTES = 22 + MAX16 + 20;
/** A directory larger than this is not read: its entry count alone decides. */
const MAX_DIRECTORY_BYTES = 64 * 1024 * 1024;

/**
 * The central directory's summary, or null when the file is not a ZIP this reader understands (no end
 * record, offsets that do not fit the file): the engine then decides alone, as before.
 */
export async function readZipDirectory(size: number, read: RangeReader): Promise<ZipDirectory | null> {
  if (size < 22) return null;
  const tailStart = Math.max(0, size - TAIL_BYTES);
  const tail = await read(tailStart, size - 1);
  const at = findEndRecord(tail);
  if (at < 0) return null;
  let entries = tail.readUInt16LE(at + 10);
  let directoryBytes = tail.readUInt32LE(at + 12);
  // Where the directory ends: right before the end record (or the ZIP64 record). Measured from the end,
  // not from the recorded offset, so data prepended to the archive (a self-extractor) does not matter.
  let directoryEnd = tailStart + at;
  if (entries === MAX16 || directoryBytes === MAX32 || tail.readUInt32LE(at + 16) === MAX32) {
    const zip64 = await readZip64End(tail, tailStart, at, read);
    if (!zip64) return null;
    ({ entries, directoryBytes, directoryEnd } = zip64);
  }
  const directoryStart = directoryEnd - directoryBytes;
  if (directoryStart < 0 || entries < 0) return null;
  if (directoryBytes > MAX_DIRECTORY_BYTES || entries === 0) return { entries, expandedBytes: 0, largestEntryBytes: 0 };
  const directory =
    directoryStart >= tailStart
      ? tail.subarray(directoryStart - tailStart, directoryEnd - tailStart)
      : await read(directoryStart, directoryEnd - 1);
  return sumEntries(directory, entries);
}

/** Why the archive cannot be scanned in full, or null when it is within the limits. */
export function archiveLimitExceeded(directory: ZipDirectory, storedBytes: number, limits: ArchiveLimits): string | null {
  const { entries, expandedBytes, largestEntryBytes } = directory;
  if (entries > limits.maxEntries) return `the archive lists ${entries} entries; at most ${limits.maxEntries} are scanned`;
  if (largestEntryBytes > limits.maxEntryBytes)
    return `an archive entry expands to ${largestEntryBytes} bytes; at most ${limits.maxEntryBytes} are scanned per entry`;
  if (expandedBytes > limits.maxExpandedBytes)
    return `the archive expands to ${expandedBytes} bytes; at most ${limits.maxExpandedBytes} are scanned`;
  const ratio = expandedBytes / Math.max(1, storedBytes);
  if (expandedBytes >= RATIO_FLOOR_BYTES && ratio > limits.maxRatio)
    return `the archive expands ${Math.round(ratio)}:1 (${storedBytes} → ${expandedBytes} bytes), past ${limits.maxRatio}:1: a decompression bomb`;
  return null;
}

/** The last end-of-central-directory record whose comment fits in what follows it; -1 when none. */
function findEndRecord(tail: Buffer): number {
  // (lastIndexOf would count a negative start from the end.)
  if (tail.length < 22) return -1;
  // lastIndexOf searches natively: a byte-by-byte loop over the 64 KiB tail of every non-ZIP file cost ~1 ms.
  for (let i = tail.lastIndexOf(EOCD, tail.length - 22); i >= 0; i = i > 0 ? tail.lastIndexOf(EOCD, i - 1) : -1) {
    if (i + 22 + tail.readUInt16LE(i + 20) <= tail.length) return i;
  }
  return -1;
}

async function readZip64End(
  tail: Buffer,
  tailStart: number,
  at: number,
  read: RangeReader,
): Promise<{ entries: number; directoryBytes: number; directoryEnd: number } | null> {
  const locator = at - 20;
  if (locator < 0 || tail.readUInt32LE(locator) !== EOCD64_LOCATOR) return null;
  // The ZIP64 end record sits right before its locator (56 bytes, without the rarely used extensible
  // data sector: an archive with one is left to the engine).
  const recordStart = tailStart + locator - 56;
  if (recordStart < 0) return null;
  const record = recordStart >= tailStart ? tail.subarray(locator - 56, locator) : await read(recordStart, recordStart + 55);
  if (record.readUInt32LE(0) !== EOCD64) return null;
  return {
    entries: Number(record.readBigUInt64LE(32)),
    directoryBytes: Number(record.readBigUInt64LE(40)),
    directoryEnd: recordStart,
  };
}

function sumEntries(directory: Buffer, entries: number): ZipDirectory | null {
  let expandedBytes = 0;
  let largestEntryBytes = 0;
  let p = 0;
  for (let n = 0; n < entries; n++) {
    if (p + 46 > directory.length || directory.readUInt32LE(p) !== CENTRAL_HEADER) return null;
    let expanded = directory.readUInt32LE(p + 24);
    const nameLength = directory.readUInt16LE(p + 28);
    const extraLength = directory.readUInt16LE(p + 30);
    const commentLength = directory.readUInt16LE(p + 32);
    if (expanded === MAX32) {
      const extra = directory.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength);
      const real = zip64Size(extra);
      if (real === null) return null;
      expanded = real;
    }
    expandedBytes += expanded;
    largestEntryBytes = Math.max(largestEntryBytes, expanded);
    p += 46 + nameLength + extraLength + commentLength;
  }
  return { entries, expandedBytes, largestEntryBytes };
}

/** The uncompressed size from an entry's ZIP64 extra field (id 1): the first of its 8-byte values. */
function zip64Size(extra: Buffer): number | null {
  for (let p = 0; p + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(p);
    const length = extra.readUInt16LE(p + 2);
    if (id === 0x0001 && length >= 8 && p + 12 <= extra.length) return Number(extra.readBigUInt64LE(p + 4));
    p += 4 + length;
  }
  return null;
}
