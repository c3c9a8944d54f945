import { Worker } from "node:worker_threads";

/**
 * MD5 (S3's ETag) computed on a worker thread while the bytes stream to disk.
 *
 * Why: MD5 runs at ~600 MB/s on one core (no hardware help, unlike SHA-256), so hashing on the event loop
 * costs ~0.45 s of event-loop time per 256 MiB received (~1.7 ms per MiB), time the API's other requests
 * wait for, and serialises with the receive path. On a worker, the hash runs in parallel on another core;
 * the event loop only copies each chunk (memcpy) into 1 MiB batches and posts them. Measured on a 2-vCPU VM, a 256 MiB PUT went
 * from ~0.71× to ~0.87–0.91× the throughput of raw node:http when the second core was idle, with no clear
 * gain when it was busy (the hash still needs its CPU).
 *
 * One worker per process, shared by all uploads, created on first use. It is unref'd while idle, so it never
 * keeps a process alive, and ref'd while a hash is in progress, so awaiting a digest cannot end the process.
 * If it dies, every pending hash fails (the upload then fails cleanly) and the next hash starts a new one.
 */

/**
 * Plain JS, eval'd, so it runs the same under node, tsx and vitest without a loader. getBuiltinModule
 * (Node ≥ 20.16) instead of require/import: the code is valid whether eval'd as CommonJS or as a module.
 */
const WORKER_SOURCE = `
const { parentPort } = process.getBuiltinModule("node:worker_threads");
const { createHash } = process.getBuiltinModule("node:crypto");
const hashes = new Map();
parentPort.on("message", (m) => {
  if (m.type === "data") {
    let hash = hashes.get(m.id);
    if (!hash) hashes.set(m.id, (hash = createHash("md5")));
    hash.update(m.chunk);
    // The batch goes back for reuse (transferred, not copied).
    parentPort.postMessage({ type: "ack", id: m.id, bytes: m.ack, buffer: m.chunk.buffer }, [m.chunk.buffer]);
  } else if (m.type === "end") {
    const hash = hashes.get(m.id) ?? createHash("md5");
    hashes.delete(m.id);
    parentPort.postMessage({ type: "digest", id: m.id, hex: hash.digest("hex") });
  } else if (m.type === "drop") {
    hashes.delete(m.id);
  }
});
`;

/**
 * Chunks are copied into batches of this size and a batch is posted when full: a socket delivers 16–64 KiB
 * chunks, and one fresh zero-filled buffer plus one message per chunk cost more event-loop time than the
 * copy itself (bench/upload-path.ts).
 */
const BATCH_BYTES = 1024 * 1024;
/** The worker confirms progress every this many bytes... */
const ACK_EVERY_BYTES = 1024 * 1024;
/** ...and a hash waits once this many bytes are posted but not yet hashed, so memory stays bounded per upload. */
const MAX_IN_FLIGHT_BYTES = 8 * 1024 * 1024;

interface Job {
  acked: number;
  waiter?: { until: number; resolve: () => void; reject: (error: Error) => void };
  done?: { resolve: (hex: string) => void; reject: (error: Error) => void };
  error?: Error;
}

type WorkerMessage = { type: "ack"; id: number; bytes: number; buffer: ArrayBuffer } | { type: "digest"; id: number; hex: string };

/**
 * Batches the worker has hashed and handed back, reused for the next ones. Fresh memory costs a page fault
 * per 4 KiB on first touch (~3 µs each on these VMs: ~0.7 ms per MiB, more than the copy), so a pool of
 * warm buffers halves the event loop's share of hashing. Bounded: 4 uploads' worth of in-flight batches.
 */
const pool: ArrayBuffer[] = [];
const MAX_POOLED = 32;

let worker: Worker | undefined;
let nextId = 1;
const jobs = new Map<number, Job>();

function sharedWorker(): Worker {
  if (worker) return worker;
  // No inherited execArgv: the worker needs no loader (tsx) or module-type flags, and starts faster without.
  const created = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
  created.on("message", (message: WorkerMessage) => {
    if (message.type === "ack" && pool.length < MAX_POOLED && message.buffer.byteLength === BATCH_BYTES) pool.push(message.buffer);
    const job = jobs.get(message.id);
    if (!job) return;
    if (message.type === "ack") {
      if (!message.bytes) return;
      job.acked = message.bytes;
      if (job.waiter && job.acked >= job.waiter.until) {
        const { resolve } = job.waiter;
        job.waiter = undefined;
        resolve();
      }
    } else {
      finish(message.id);
      job.done?.resolve(message.hex);
    }
  });
  const failAll = (error: Error) => {
    if (worker === created) worker = undefined;
    for (const [id, job] of jobs) {
      job.error = error;
      job.waiter?.reject(error);
      job.done?.reject(error);
      finish(id);
    }
  };
  created.on("error", failAll);
  created.on("exit", (code) => failAll(new Error(`the MD5 worker exited (code ${code})`)));
  created.unref();
  worker = created;
  return created;
}

function finish(id: number): void {
  jobs.delete(id);
  if (jobs.size === 0) worker?.unref();
}

/** An incremental MD5 whose work happens on the shared worker. Feed with `update`, end with `digest` or `dispose`. */
export class OffloadedMd5 {
  private readonly id = nextId++;
  private readonly job: Job = { acked: 0 };
  private readonly worker = sharedWorker();
  private sent = 0;
  private nextAck = ACK_EVERY_BYTES;
  /** Bytes copied but not yet posted: `batch[0, filled)`. */
  private batch: Buffer | undefined;
  private filled = 0;

  constructor() {
    jobs.set(this.id, this.job);
    this.worker.ref();
  }

  /**
   * Queues `chunk` for hashing (copied: the caller may reuse or write it meanwhile). Returns a promise only
   * when the caller should wait before sending more (the worker is behind); undefined otherwise, so the
   * common path costs no extra tick.
   */
  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.job.error) return Promise.reject(this.job.error);
    let at = 0;
    while (at < chunk.byteLength) {
      // A returned batch or fresh memory (not zero-filled, not Node's shared pool): every byte used is written.
      if (!this.batch) {
        const reused = pool.pop();
        this.batch = reused ? Buffer.from(reused) : Buffer.allocUnsafeSlow(BATCH_BYTES);
      }
      const n = Math.min(chunk.byteLength - at, BATCH_BYTES - this.filled);
      this.batch.set(chunk.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === BATCH_BYTES) this.post();
    }
    if (this.sent - this.job.acked <= MAX_IN_FLIGHT_BYTES) return undefined;
    const until = this.sent - MAX_IN_FLIGHT_BYTES / 2;
    return new Promise((resolve, reject) => {
      this.job.waiter = { until, resolve, reject };
    });
  }

  /** Posts the filled part of the batch (transferred: no second copy into the worker). */
  private post(): void {
    const batch = this.batch;
    if (!batch || this.filled === 0) return;
    const chunk = new Uint8Array(batch.buffer, batch.byteOffset, this.filled);
    this.sent += this.filled;
    this.batch = undefined;
    this.filled = 0;
    let ack = 0;
    if (this.sent >= this.nextAck) {
      ack = this.sent;
      this.nextAck = this.sent + ACK_EVERY_BYTES;
    }
    this.worker.postMessage({ type: "data", id: this.id, chunk, ack }, [chunk.buffer as ArrayBuffer]);
  }

  /** The hex digest of everything passed to `update`. */
  digest(): Promise<string> {
    if (this.job.error) return Promise.reject(this.job.error);
    this.post();
    return new Promise((resolve, reject) => {
      this.job.done = { resolve, reject };
      this.worker.postMessage({ type: "end", id: this.id });
    });
  }

  /** Abandons the hash (a failed upload); frees its state in the worker. Safe to call twice. */
  dispose(): void {
    if (this.batch && pool.length < MAX_POOLED) pool.push(this.batch.buffer as ArrayBuffer);
    this.batch = undefined;
    if (!jobs.has(this.id)) return;
    finish(this.id);
    this.worker.postMessage({ type: "drop", id: this.id });
  }
}
