import { randomBytes } from "node:crypto";
import { lstat, lutimes, readdir, readlink, symlink, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LazyFolder } from "./lazy-folder.ts";

/** A holder touches its lease this often, so others can tell it from one a dead holder left. */
const REFRESH_MS = 10_000;
/** A lease nobody touched for this long is stale (its holder died, maybe on another host sharing the disk). */
const STALE_MS = 60_000;
const POLL_MS = 20;

/**
 * Exclusion across processes (and hosts sharing the data dir) for the local driver's in-place multipart
 * uploads. A lease is a symlink `leases/<name>` whose target names its holder (`<host>:<pid>:<token>`):
 * symlink(2) fails when the name exists, so taking a lease is one atomic test-and-set, and the holder is
 * written in the same step (no file that exists but is still empty). Nothing is fsynced: a lease lives only
 * as long as its holder, and a crash ends the holder.
 *
 * A lease is stale when its holder is a process of this host that no longer runs, or when nobody touched it
 * for STALE_MS (so a holder stopped or starved for a minute loses it, and a lease whose pid was reused, say
 * by a restarted container, frees itself within a minute); a stale lease is removed by whoever meets it. (Two processes that meet the same stale lease
 * at the same instant could both take it: one removes it, makes its own, and the other's removal, decided
 * a moment before, removes that one. Stale leases exist only after a crash; that window is microseconds.)
 */
export class Leases {
  private readonly holderPrefix = `${hostname()}:${process.pid}:`;
  private readonly folder: LazyFolder;

  constructor(private readonly dir: string) {
    this.folder = new LazyFolder(dir);
  }

  /**
   * Takes `name`, waiting up to `waitMs` for a live holder to let go; null when it still holds it then.
   * Names are made by the driver from validated ids (no separators).
   */
  async acquire(name: string, waitMs: number): Promise<Lease | null> {
    const path = join(this.dir, name);
    const target = `${this.holderPrefix}${randomBytes(6).toString("hex")}`;
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        await this.folder.run(() => symlink(target, path));
        return new Lease(path, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      if (await this.removeIfStale(name)) continue;
      if (Date.now() >= deadline) return null;
      await sleep(POLL_MS);
    }
  }

  /** Whether a live holder has `name` (a stale lease is removed and counts as free). */
  async isHeld(name: string): Promise<boolean> {
    return !(await this.removeIfStale(name)) && (await this.target(name)) !== null;
  }

  /**
   * Waits up to `waitMs` until no live lease is named `prefix…` (except `except`); false when some still
   * are then.
   */
  async waitUntilFree(prefix: string, except: string, waitMs: number): Promise<boolean> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const names = (await this.names()).filter((name) => name.startsWith(prefix) && name !== except);
      let live = 0;
      for (const name of names) if (!(await this.removeIfStale(name))) live++;
      if (live === 0) return true;
      if (Date.now() >= deadline) return false;
      await sleep(POLL_MS);
    }
  }

  /** Removes every stale lease (start-up and cleanup: only crashes leave them). Returns how many. */
  async sweep(): Promise<number> {
    let removed = 0;
    for (const name of await this.names()) if (await this.removeIfStale(name)) removed++;
    return removed;
  }

  private async removeIfStale(name: string): Promise<boolean> {
    const path = join(this.dir, name);
    const target = await this.target(name);
    if (target === null) return false;
    const [host, pid] = target.split(":");
    let stale = host === hostname() && !isRunning(Number(pid));
    if (!stale) {
      const info = await lstat(path).catch(() => null);
      stale = info !== null && Date.now() - info.mtimeMs > STALE_MS;
    }
    if (!stale) return false;
    await unlink(path).catch(() => {});
    return true;
  }

  private async target(name: string): Promise<string | null> {
    try {
      return await readlink(join(this.dir, name));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "EINVAL") return null;
      throw error;
    }
  }

  private async names(): Promise<string[]> {
    return readdir(this.dir).catch((error: unknown) => ((error as NodeJS.ErrnoException).code === "ENOENT" ? [] : Promise.reject(error)));
  }
}

export class Lease {
  private readonly refresh: NodeJS.Timeout;

  constructor(
    private readonly path: string,
    private readonly target: string,
  ) {
    this.refresh = setInterval(() => {
      const now = new Date();
      lutimes(this.path, now, now).catch(() => {});
    }, REFRESH_MS);
    this.refresh.unref();
  }

  /** Lets go, unless someone already removed it as stale and took it (then it is theirs). */
  async release(): Promise<void> {
    clearInterval(this.refresh);
    if ((await readlink(this.path).catch(() => null)) === this.target) await unlink(this.path).catch(() => {});
  }
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
  }
}
