/**
 * A token bucket: holds at most `capacity` tokens, refilled continuously at `capacity` per `periodMs`.
 * It never sleeps: `tryTake` either takes the tokens or says how long to wait, so a caller can hand the
 * wait to its job queue instead of holding a worker slot. In-process only: N worker processes get N buckets.
 */
export class TokenBucket {
  readonly capacity: number;
  readonly #perMs: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(options: { capacity: number; periodMs: number; now?: () => number }) {
    if (!(options.capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${options.capacity}`);
    if (!(options.periodMs > 0)) throw new RangeError(`periodMs must be positive, got ${options.periodMs}`);
    this.capacity = options.capacity;
    this.#perMs = options.capacity / options.periodMs;
    this.#now = options.now ?? Date.now;
    this.#tokens = options.capacity;
    this.#updatedAt = this.#now();
  }

  /** Takes `n` tokens and returns 0, or takes nothing and returns the milliseconds until `n` are available. */
  tryTake(n = 1): number {
    if (n > this.capacity) throw new RangeError(`cannot take ${n} tokens from a bucket of ${this.capacity}`);
    this.#refill();
    if (this.#tokens >= n) {
      this.#tokens -= n;
      return 0;
    }
    return Math.max(1, Math.ceil((n - this.#tokens) / this.#perMs));
  }

  /** Gives back tokens taken for a request that was not sent after all. */
  giveBack(n = 1): void {
    this.#refill();
    this.#tokens = Math.min(this.capacity, this.#tokens + n);
  }

  /** Empties the bucket: the remote side said we are over its limit (HTTP 429), so trust it over our count. */
  drain(): void {
    this.#refill();
    this.#tokens = 0;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.capacity, this.#tokens + (now - this.#updatedAt) * this.#perMs);
    this.#updatedAt = now;
  }
}
