import { describe, expect, it } from "vitest";
import { Semaphore, SemaphoreTimeoutError } from "./semaphore.ts";

describe("Semaphore", () => {
  it("admits at most `size` holders, first come first served", async () => {
    const semaphore = new Semaphore(2);
    const order: number[] = [];
    const a = await semaphore.acquire();
    const b = await semaphore.acquire();
    const c = semaphore.acquire().then((release) => {
      order.push(3);
      return release;
    });
    const d = semaphore.acquire().then((release) => {
      order.push(4);
      return release;
    });
    expect(semaphore.inUse).toBe(2);
    expect(semaphore.waiting).toBe(2);
    a();
    a(); // twice is harmless
    const releaseC = await c;
    expect(order).toEqual([3]);
    b();
    (await d)();
    releaseC();
    expect(order).toEqual([3, 4]);
    expect(semaphore.inUse).toBe(0);
  });

  it("gives up after the timeout without taking a slot", async () => {
    const semaphore = new Semaphore(1);
    const release = await semaphore.acquire();
    await expect(semaphore.acquire(20)).rejects.toBeInstanceOf(SemaphoreTimeoutError);
    expect(semaphore.waiting).toBe(0);
    release();
    expect(semaphore.inUse).toBe(0);
  });

  it("rejects nonsense sizes", () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
