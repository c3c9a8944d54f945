import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { OffloadedMd5 } from "./local-hash.ts";

const md5 = (data: Uint8Array) => createHash("md5").update(data).digest("hex");

async function offloaded(chunks: Uint8Array[]): Promise<string> {
  const hash = new OffloadedMd5();
  for (const chunk of chunks) await hash.update(chunk);
  return hash.digest();
}

describe("OffloadedMd5", () => {
  it("equals node's MD5 for empty, small and chunked input", async () => {
    expect(await offloaded([])).toBe(md5(new Uint8Array()));
    const data = randomBytes(3 * 1024 * 1024 + 17);
    expect(await offloaded([data])).toBe(md5(data));
    const chunks = [data.subarray(0, 1), data.subarray(1, 65_537), data.subarray(65_537)];
    expect(await offloaded(chunks)).toBe(md5(data));
  });

  it("applies backpressure past the in-flight bound and still hashes everything", async () => {
    const data = randomBytes(40 * 1024 * 1024);
    const hash = new OffloadedMd5();
    let waits = 0;
    for (let at = 0; at < data.length; at += 64 * 1024) {
      const wait = hash.update(data.subarray(at, at + 64 * 1024));
      if (wait) {
        waits++;
        await wait;
      }
    }
    expect(await hash.digest()).toBe(md5(data));
    expect(waits).toBeGreaterThan(0);
  });

  it("copies the chunk, so the caller may reuse its buffer at once", async () => {
    const buffer = Buffer.alloc(1024, 1);
    const hash = new OffloadedMd5();
    await hash.update(buffer);
    buffer.fill(2);
    expect(await hash.digest()).toBe(md5(Buffer.alloc(1024, 1)));
  });

  it("keeps concurrent hashes apart, and dispose is harmless", async () => {
    const a = randomBytes(500_000);
    const b = randomBytes(700_000);
    const dropped = new OffloadedMd5();
    await dropped.update(a);
    dropped.dispose();
    dropped.dispose();
    expect(await Promise.all([offloaded([a, b]), offloaded([b]), offloaded([a])])).toEqual([md5(Buffer.concat([a, b])), md5(b), md5(a)]);
  });

  it("keeps a process alive while a digest is awaited, and not after", async () => {
    const module = fileURLToPath(new URL("./local-hash.ts", import.meta.url));
    // Only the worker is pending between the update and the digest: the process must wait for it, then exit.
    const script = `
      import { OffloadedMd5 } from ${JSON.stringify(module)};
      const hash = new OffloadedMd5();
      hash.update(new Uint8Array(10));
      console.log(await hash.digest());
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      timeout: 20_000,
    });
    expect(stdout.trim()).toBe(md5(new Uint8Array(10)));
  }, 30_000);
});
