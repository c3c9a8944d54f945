import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type ArchiveLimits, archiveLimitExceeded, readZipDirectory } from "./archive-limits.ts";
import { deflateBomb, storedZip, zipOf } from "./testing/zip.ts";

const MiB = 1024 * 1024;
/** clamd's defaults: MaxFiles 10,000, MaxFileSize 100 MiB, MaxScanSize 400 MiB; a 200:1 ratio. */
const limits: ArchiveLimits = { maxEntries: 10_000, maxEntryBytes: 100 * MiB, maxExpandedBytes: 400 * MiB, maxRatio: 200 };

/** A reader over a buffer that counts its calls (the check must stay at one or two small reads). */
function readerOf(file: Buffer) {
  const reader = Object.assign(
    async (start: number, end: number) => {
      reader.calls.push([start, end]);
      return file.subarray(start, end + 1);
    },
    { calls: [] as Array<[number, number]> },
  );
  return reader;
}

async function inspect(file: Buffer) {
  const read = readerOf(file);
  const directory = await readZipDirectory(file.length, read);
  return { directory, reads: read.calls, exceeded: directory && archiveLimitExceeded(directory, file.length, limits) };
}

/**
 * A ZIP64 archive, built by hand: one entry whose uncompressed size (5 GiB) lives in the entry's ZIP64 extra
 * field, and the ZIP64 end record + locator that an archive with 0xFFFF/0xFFFFFFFF in its end record has.
 */
function zip64Of(expanded: bigint): Buffer {
  const name = Buffer.from("huge.bin");
  const extra = Buffer.alloc(20);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(16, 2);
  extra.writeBigUInt64LE(expanded, 4); // uncompressed
  extra.writeBigUInt64LE(1000n, 12); // compressed
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(45, 4);
  central.writeUInt16LE(45, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(0xffffffff, 20);
  central.writeUInt32LE(0xffffffff, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt16LE(extra.length, 30);
  const data = Buffer.alloc(1000 + 30 + name.length); // the local header and data, not read
  const directory = Buffer.concat([central, name, extra]);
  const end64 = Buffer.alloc(56);
  end64.writeUInt32LE(0x06064b50, 0);
  end64.writeBigUInt64LE(44n, 4);
  end64.writeBigUInt64LE(1n, 24);
  end64.writeBigUInt64LE(1n, 32);
  end64.writeBigUInt64LE(BigInt(directory.length), 40);
  end64.writeBigUInt64LE(BigInt(data.length), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(data.length + directory.length), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([data, directory, end64, locator, end]);
}

describe("[SCANNER][ARCHIVES] central-directory limits", () => {
  it("sums a small ZIP's entries in one read and finds it within the limits", async () => {
    const file = storedZip([
      { name: "a.txt", data: "hello" },
      { name: "b/c.bin", data: randomBytes(1000) },
      { name: "d.txt", data: "" },
    ]);
    const { directory, reads, exceeded } = await inspect(file);
    expect(directory).toEqual({ entries: 3, expandedBytes: 1005, largestEntryBytes: 1000 });
    expect(reads).toHaveLength(1);
    expect(exceeded).toBeNull();
  });

  it("calls a real deflate bomb (300 MiB of zeros in ~300 KB) a decompression bomb, from the directory alone", async () => {
    const file = zipOf([await deflateBomb("zeros.bin", 300 * MiB)]);
    expect(file.length).toBeLessThan(1 * MiB);
    const { directory, exceeded } = await inspect(file);
    expect(directory).toEqual({ entries: 1, expandedBytes: 300 * MiB, largestEntryBytes: 300 * MiB });
    expect(exceeded).toMatch(/expands to 314572800 bytes; at most 104857600 are scanned per entry/);
    // Below the size limits, the ratio alone gives it away.
    const generous = { ...limits, maxEntryBytes: 1024 * MiB, maxExpandedBytes: 1024 * MiB };
    expect(archiveLimitExceeded(directory ?? { entries: 0, expandedBytes: 0, largestEntryBytes: 0 }, file.length, generous)).toMatch(
      /expands \d+:1 .* past 200:1: a decompression bomb/,
    );
  });

  it("counts entries past the scanner's MaxFiles, reading a directory larger than the tail with one more read", async () => {
    const file = storedZip(Array.from({ length: 20_000 }, (_, i) => ({ name: `f${i}.txt`, data: "x" })));
    const { directory, reads, exceeded } = await inspect(file);
    expect(directory).toMatchObject({ entries: 20_000, expandedBytes: 20_000 });
    expect(reads).toHaveLength(2);
    expect(exceeded).toBe("the archive lists 20000 entries; at most 10000 are scanned");
  });

  it("leaves well-compressed small archives alone: the ratio counts only from 10 MiB expanded", async () => {
    const file = zipOf([await deflateBomb("zeros.bin", 5 * MiB)]);
    const { directory, exceeded } = await inspect(file);
    expect(directory?.expandedBytes).toBe(5 * MiB);
    expect(file.length * 200).toBeLessThan(5 * MiB); // the ratio is far past 200:1, and yet:
    expect(exceeded).toBeNull();
  });

  it("finds the directory behind a self-extractor's prefix and before a trailing comment", async () => {
    const zip = storedZip([{ name: "x.txt", data: "payload" }]);
    const prefixed = Buffer.concat([randomBytes(100_000), zip]);
    expect((await inspect(prefixed)).directory).toEqual({ entries: 1, expandedBytes: 7, largestEntryBytes: 7 });
    const comment = Buffer.from("a trailing archive comment");
    const commented = Buffer.from(zip);
    commented.writeUInt16LE(comment.length, commented.length - 2);
    expect((await inspect(Buffer.concat([commented, comment]))).directory).toEqual({ entries: 1, expandedBytes: 7, largestEntryBytes: 7 });
  });

  it("reads ZIP64 sizes (an entry of 5 GiB declared in its extra field)", async () => {
    const { directory, exceeded } = await inspect(zip64Of(5n * 1024n * 1024n * 1024n));
    expect(directory).toEqual({ entries: 1, expandedBytes: 5 * 1024 * MiB, largestEntryBytes: 5 * 1024 * MiB });
    expect(exceeded).toMatch(/per entry/);
  });

  it("is not fooled into a verdict by files that are not ZIPs, or whose end record points nowhere", async () => {
    expect((await inspect(randomBytes(200_000))).directory).toBeNull();
    expect((await inspect(Buffer.from("tiny"))).directory).toBeNull();
    // An end record that claims a directory larger than the file.
    const bogus = Buffer.alloc(22);
    bogus.writeUInt32LE(0x06054b50, 0);
    bogus.writeUInt16LE(3, 10);
    bogus.writeUInt32LE(5000, 12);
    expect((await inspect(Buffer.concat([randomBytes(100), bogus]))).directory).toBeNull();
    // A directory whose entries are not central headers.
    const broken = storedZip([{ name: "a", data: "b" }]);
    broken.writeUInt32LE(0xdeadbeef, broken.length - 22 - 46 - 1);
    expect((await inspect(broken)).directory).toBeNull();
  });
});
