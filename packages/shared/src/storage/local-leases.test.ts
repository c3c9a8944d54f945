import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readlink, rm, symlink, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { holderOf, Leases } from "./local-leases.ts";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "airlock-leases-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A process of this namespace that has ended. */
const ended = spawnSync(process.execPath, ["-e", ""]).pid;

/** A lease left by it. */
async function leaveStale(name: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await symlink(`${holderOf(ended)}crashed`, join(dir, name));
}

describe("Leases", () => {
  it("one holder at a time; the next takes it once released", async () => {
    const leases = new Leases(dir);
    const first = await leases.acquire("u.1", 0);
    expect(first).not.toBeNull();
    expect(await leases.acquire("u.1", 50)).toBeNull();
    expect(await leases.isHeld("u.1")).toBe(true);
    await first?.release();
    expect(await leases.isHeld("u.1")).toBe(false);
    expect(await leases.acquire("u.1", 0)).not.toBeNull();
  });

  it("processes that meet the same stale lease at once: exactly one takes it", async () => {
    for (let round = 0; round < 20; round++) {
      await leaveStale(`u.${round}`);
      // Separate instances, as separate processes would be.
      const taken = await Promise.all([0, 1, 2].map(() => new Leases(dir).acquire(`u.${round}`, 30)));
      expect(taken.filter((lease) => lease !== null)).toHaveLength(1);
      for (const lease of taken) await lease?.release();
    }
  });

  it("a holder whose lease was taken over does not remove the new holder's on release", async () => {
    const leases = new Leases(dir);
    const old = await leases.acquire("u.1", 0);
    // As if removed as stale by another process, which then took it.
    await unlink(join(dir, "u.1"));
    const current = await leases.acquire("u.1", 0);
    expect(await old?.stillHeld()).toBe(false);
    await old?.release();
    expect(await readlink(join(dir, "u.1"))).toMatch(/^[0-9a-f]{16}:/);
    expect(await current?.stillHeld()).toBe(true);
  });

  it("waitUntilFree reports a stale lease it had to remove (its holder may still be writing)", async () => {
    await leaveStale("u.2");
    const leases = new Leases(dir);
    const completing = await leases.acquire("u.complete", 0);
    expect(await leases.waitUntilFree("u.", "u.complete", 100)).toEqual({ free: true, removedStale: true });
    expect(await leases.waitUntilFree("u.", "u.complete", 100)).toEqual({ free: true, removedStale: false });
    const writing = await leases.acquire("u.3", 0);
    expect(await leases.waitUntilFree("u.", "u.complete", 50)).toEqual({ free: false, removedStale: false });
    await writing?.release();
    await completing?.release();
  });
});
