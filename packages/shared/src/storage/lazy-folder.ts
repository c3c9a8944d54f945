import { mkdir } from "node:fs/promises";

/**
 * A folder made on first use, not before every call that creates something in it. If creating fails with
 * ENOENT, the folder may have been removed since (a cleanup, an operator): it is made again (a no-op when it
 * exists) and the creation runs once more, whose error (say, a missing source) is then final.
 */
export class LazyFolder {
  private made = false;

  constructor(readonly path: string) {}

  /** Runs `create`, which makes something in the folder. */
  async run<T>(create: () => Promise<T>): Promise<T> {
    if (!this.made) await this.make();
    try {
      return await create();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      await this.make();
      return create();
    }
  }

  async make(): Promise<void> {
    await mkdir(this.path, { recursive: true, mode: 0o700 });
    this.made = true;
  }
}
