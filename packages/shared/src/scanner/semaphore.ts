/**
 * A counting semaphore: at most `size` holders at a time, waiters served first come, first served.
 * A released slot is handed straight to the next waiter, so a late `acquire` cannot overtake a queued one.
 */
export class Semaphore {
  readonly size: number;
  #free: number;
  readonly #waiters: Array<(release: () => void) => void> = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`semaphore size must be a positive integer, got ${size}`);
    this.size = size;
    this.#free = size;
  }

  /** Slots currently held. */
  get inUse(): number {
    return this.size - this.#free;
  }

  /** Callers queued for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Resolves with a `release` function (calling it twice is harmless) once a slot is free; rejects with
   * a `SemaphoreTimeoutError` when none frees up within `timeoutMs`.
   */
  acquire(timeoutMs = Number.POSITIVE_INFINITY): Promise<() => void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (release: () => void) => {
        if (timer) clearTimeout(timer);
        resolve(release);
      };
      this.#waiters.push(waiter);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) this.#waiters.splice(index, 1);
          reject(new SemaphoreTimeoutError(timeoutMs));
        }, timeoutMs);
      }
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next(this.#releaser());
      else this.#free++;
    };
  }
}

export class SemaphoreTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no free slot within ${timeoutMs} ms`);
    this.name = "SemaphoreTimeoutError";
  }
}
