import { crc32, createDeflateRaw } from "node:zlib";

/**
 * A minimal ZIP writer for tests: entries "stored" (no compression) or deflated beforehand, no zip64,
 * names in UTF-8.
 * Enough for clamd to unpack EICAR inside a zip inside a zip. Layout per APPNOTE.TXT §4.3:
 * [local header + data]*, central directory, end of central directory.
 */
export function storedZip(entries: Array<{ name: string; data: Buffer | string }>): Buffer {
  return zipOf(
    entries.map((entry) => {
      const data = typeof entry.data === "string" ? Buffer.from(entry.data, "latin1") : entry.data;
      return { name: entry.name, method: 0, stored: data, size: data.length, crc: crc32(data) };
    }),
  );
}

/** An entry already compressed: `stored` is what the archive holds, `size` and `crc` describe the original. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate. */
  method: 0 | 8;
  stored: Buffer;
  size: number;
  crc: number;
}

/**
 * A real decompression bomb: one entry of `bytes` zero bytes, deflated (about 1,000:1), streamed so the
 * original never sits in memory.
 */
export async function deflateBomb(name: string, bytes: number): Promise<ZipEntry> {
  const deflate = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on("data", (chunk: Buffer) => out.push(chunk));
  const zeros = Buffer.alloc(1024 * 1024);
  let crc = 0;
  for (let left = bytes; left > 0; left -= zeros.length) {
    const chunk = left >= zeros.length ? zeros : zeros.subarray(0, left);
    crc = crc32(chunk, crc);
    if (!deflate.write(chunk)) await new Promise((resolve) => deflate.once("drain", resolve));
  }
  await new Promise((resolve) => deflate.end(resolve));
  return { name, method: 8, stored: Buffer.concat(out), size: bytes, crc };
}

/** A ZIP of entries stored or compressed beforehand (sizes under 4 GiB: no zip64). */
export function zipOf(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, "utf8");
    const { stored, size, crc, method } = entry;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); // local file header signature
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(0x0800, 6); // flags: UTF-8 names
    local.writeUInt16LE(method, 8); // 10/12: DOS time/date 0
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18); // compressed size
    local.writeUInt32LE(size, 22); // uncompressed size
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, stored);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); // central directory header signature
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(stored.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42); // offset of the local header
    centrals.push(central, name);
    offset += local.length + name.length + stored.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); // end of central directory signature
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
