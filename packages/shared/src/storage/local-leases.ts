import { createHash, randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { lstat, lutimes, readdir, readlink, symlink, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LazyFolder } from "./lazy-folder.ts";

/** A holder touches its lease this often, so holders this process cannot check can tell it is alive. */
const REFRESH_MS = 10_000;
/** A lease of a holder we cannot check (another pid namespace or machine) that nobody touched for this long is stale. */
const STALE_MS = 60_000;
const POLL_MS = 20;
/** Suffix of the lease that guards the removal of a stale lease. */
const TAKEOVER = ".takeover";

/**
 * Exclusion across processes for the local driver's in-place multipart uploads. A lease is a symlink
 * `leases/<name>` whose target names its holder (`<space>:<pid>:<start>:<token>`): symlink(2) fails when the
 * name exists, so taking a lease is one atomic test-and-set, and the holder is written in the same step (no
 * file that exists but is still empty). Nothing is fsynced: a lease lives only as long as its holder.
 *
 * `space` identifies the pid namespace (host name, boot id, namespace inode): for a holder in ours, a lease is
 * stale exactly when that process no longer runs (or the pid now belongs to a process started at another
 * time), however long it was stopped or starved. A holder in another space (another container sharing the
 * volume) is judged by its refresh: stale after STALE_MS untouched. That is where a holder stopped for a
 * minute could lose its lease; the completion treats a part lease it had to remove as a writer that may
 * still write, and then copies the parts instead of renaming the file that writer holds open (local.ts).
 * The local driver is for one machine: over NFS, cached directory reads and clocks of several machines make
 * none of this reliable (use S3 for several API hosts).
 *
 * Removing a stale lease is guarded by a lease of its own (`<name>.takeover`), and the lease is read again
 * under it: two processes that meet the same stale lease cannot remove each other's fresh one.
 */
export class Leases {
  private readonly holderPrefix = holderOf(process.pid);
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
      if (await this.removeIfStale(name)) continue; // gone now: take it at once
      if (Date.now() >= deadline) return null;
      await sleep(POLL_MS);
    }
  }

  /** Whether a live holder has `name` (a stale lease is removed and counts as free). */
  async isHeld(name: string): Promise<boolean> {
    return !(await this.removeIfStale(name)) && (await this.target(name)) !== null;
  }

  /**
   * Waits up to `waitMs` until no live lease is named `prefix…` (except `except`). Returns whether that
   * happened, and whether a stale one had to be removed on the way (its holder may still be running).
   */
  async waitUntilFree(prefix: string, except: string, waitMs: number): Promise<{ free: boolean; removedStale: boolean }> {
    const deadline = Date.now() + waitMs;
    let removedStale = false;
    for (;;) {
      const names = (await this.names()).filter((name) => name.startsWith(prefix) && name !== except && !name.endsWith(TAKEOVER));
      let live = 0;
      for (const name of names) {
        if (await this.removeIfStale(name)) removedStale = true;
        else if ((await this.target(name)) !== null) live++;
      }
      if (live === 0) return { free: true, removedStale };
      if (Date.now() >= deadline) return { free: false, removedStale };
      await sleep(POLL_MS);
    }
  }

  /** Removes every stale lease (start-up and cleanup: only crashes leave them). Returns how many. */
  async sweep(): Promise<number> {
    let removed = 0;
    for (const name of await this.names()) if (await this.removeIfStale(name)) removed++;
    return removed;
  }

  /** True when `name` was stale and is gone now. */
  private async removeIfStale(name: string): Promise<boolean> {
    const seen = await this.target(name);
    if (seen === null || !(await this.isStale(name, seen))) return false;
    if (name.endsWith(TAKEOVER)) return this.unlinkIf(name, seen); // a crash mid-takeover: nothing guards these
    const guard = await this.acquire(`${name}${TAKEOVER}`, 0);
    if (!guard) return false; // someone else is removing it
    try {
      return await this.unlinkIf(name, seen);
    } finally {
      await guard.release();
    }
  }

  /** Unlinks `name` if it still names `target`; true when it is gone. */
  private async unlinkIf(name: string, target: string): Promise<boolean> {
    if ((await this.target(name)) !== target) return false;
    try {
      await unlink(join(this.dir, name));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
      throw error;
    }
  }

  private async isStale(name: string, target: string): Promise<boolean> {
    const [space, pid, start] = target.split(":");
    if (space === SPACE) return !isRunning(Number(pid), Number(start));
    const info = await lstat(join(this.dir, name)).catch(() => null);
    return info !== null && Date.now() - info.mtimeMs > STALE_MS;
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
  /** Called once a refresh finds the lease taken away (see `Leases`): its holder should stop writing. */
  onLost?: () => void;
  private readonly refresh: NodeJS.Timeout;
  private lost = false;

  constructor(
    private readonly path: string,
    private readonly target: string,
  ) {
    this.refresh = setInterval(() => {
      void this.stillHeld().then((held) => {
        if (!held) return this.onLost?.();
        const now = new Date();
        return lutimes(this.path, now, now).catch(() => {});
      });
    }, REFRESH_MS);
    this.refresh.unref();
  }

  /** Whether the lease is still ours (it is not, once someone removed it as stale). */
  async stillHeld(): Promise<boolean> {
    if (!this.lost) this.lost = (await readlink(this.path).catch(() => null)) !== this.target;
    return !this.lost;
  }

  /** Lets go, unless someone already removed it as stale and took it (then it is theirs). */
  async release(): Promise<void> {
    clearInterval(this.refresh);
    if (await this.stillHeld()) await unlink(this.path).catch(() => {});
  }
}

/** How a lease names a holder process of this pid namespace (tests make leases of other processes with it). */
export function holderOf(pid: number): string {
  return `${SPACE}:${pid}:${startTimeOf(pid) ?? 0}:`;
}

/** This pid namespace: processes in it can be checked with kill(pid, 0). */
const SPACE = createHash("sha256")
  .update([hostname(), readOr("/proc/sys/kernel/random/boot_id", ""), inodeOr("/proc/self/ns/pid")].join("|"))
  .digest("hex")
  .slice(0, 16);

/** Whether `pid` runs and, where /proc tells, is the process that started at `start` (not a reuse of its pid). */
function isRunning(pid: number, start: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false; // EPERM: alive, someone else's
  }
  const now = startTimeOf(pid);
  return now === null || start === 0 || now === start;
}

/** The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or null without /proc. */
function startTimeOf(pid: number): number | null {
  const stat = readOr(`/proc/${pid}/stat`, null);
  if (stat === null) return null;
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const value = Number(fields[19]);
  return Number.isSafeInteger(value) ? value : null;
}

function readOr<T>(path: string, fallback: T): string | T {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return fallback;
  }
}

function inodeOr(path: string): string {
  try {
    return String(statSync(path).ino);
  } catch {
    return "";
  }
}
