import { connect, type Socket } from "node:net";
import type { Readable } from "node:stream";
import { Semaphore } from "./semaphore.ts";
import type { ScanMeta, ScanVerdict, VirusScanner } from "./types.ts";

/** Where clamd listens: TCP, or its local (unix) socket. */
export type ClamAvTarget = { host: string; port: number } | { socketPath: string };

export interface ClamAvOptions {
  /**
   * Limit of one scan once it holds a connection slot: connect, stream and clamd's own work, up to the
   * reply. Waiting for a slot is bounded by the same value, separately (a queued scan has not started).
   */
  timeoutMs: number;
  /** TCP/unix connect limit. Default: min(timeoutMs, 5 s). */
  connectTimeoutMs?: number;
  /**
   * While streaming, the longest time without any socket activity (clamd not reading, or the source not
   * producing). Not applied after the zero-length terminator: clamd is silent while it scans, and only
   * `timeoutMs` bounds that. Default: min(timeoutMs, 30 s).
   */
  idleTimeoutMs?: number;
  /** Payload bytes per INSTREAM chunk. Default 64 KiB. */
  chunkSize?: number;
  /** Most connections to clamd at once. Default 4. */
  poolSize?: number;
  /**
   * clamd's StreamMaxLength, when known: the client stops at that size and answers `unscannable` itself
   * instead of racing clamd's close (EPIPE). Without it, clamd's own "size limit exceeded" reply decides.
   */
  streamMaxLength?: number;
  /** How long a VERSION answer is reused. Default 60 s. */
  versionTtlMs?: number;
}

const ENGINE = "clamav";
const DEFAULT_CHUNK = 64 * 1024;
const SIZE_LIMIT = /size limit exceeded/i;
/** Heuristic "detections" that mean "could not look inside", not "found something" (AlertExceedsMax, AlertEncrypted*). */
const UNSCANNABLE_NAME = /^Heuristics\.(Limits\.Exceeded|Encrypted)/;

/**
 * ClamAV over clamd's INSTREAM protocol (https://docs.clamav.net/manual/Usage/Scanning.html#clamd):
 * `zINSTREAM\0`, then chunks each prefixed with their length as 4 bytes big-endian, then a zero-length
 * chunk; the reply (`stream: OK`, `stream: <name> FOUND`, `... ERROR`) ends with `\0`.
 *
 * Connections: a fresh connection per scan, at most `poolSize` at once (a semaphore), rather than a pool
 * of long-lived IDSESSION connections. On localhost or a unix socket a connect costs well under a
 * millisecond against scans of milliseconds to seconds; in exchange there is no session state to get
 * wrong: clamd closes the connection after a size-limit error (which would kill every command queued on a
 * shared session), drops idle sessions after its IdleTimeout (so a pool needs keep-alives and reconnects),
 * and a half-read reply on a reused socket would be attributed to the next file. The semaphore keeps the
 * property a pool exists for: clamd (MaxThreads) and our file descriptors see a bounded load. PING and
 * VERSION go through the same semaphore, so `poolSize` is a hard bound on connections.
 *
 * Invariant: `clean` only for an exact, complete `stream: OK` reply received after the terminator was
 * sent. Everything else is infected, unscannable or error.
 */
export class ClamAvScanner implements VirusScanner {
  readonly name = ENGINE;
  readonly #target: ClamAvTarget;
  readonly #timeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #chunkSize: number;
  readonly #streamMaxLength: number | undefined;
  readonly #versionTtlMs: number;
  readonly #slots: Semaphore;
  #version: { value: string; at: number } | undefined;
  #versionInFlight: Promise<string> | undefined;

  constructor(target: ClamAvTarget, options: ClamAvOptions) {
    if (!(options.timeoutMs > 0)) throw new RangeError("timeoutMs must be positive");
    this.#target = target;
    this.#timeoutMs = options.timeoutMs;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? Math.min(options.timeoutMs, 5_000);
    this.#idleTimeoutMs = options.idleTimeoutMs ?? Math.min(options.timeoutMs, 30_000);
    this.#chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
    if (!Number.isInteger(this.#chunkSize) || this.#chunkSize < 1) throw new RangeError("chunkSize must be a positive integer");
    this.#streamMaxLength = options.streamMaxLength;
    this.#versionTtlMs = options.versionTtlMs ?? 60_000;
    this.#slots = new Semaphore(options.poolSize ?? 4);
  }

  /** Human-readable address for messages. */
  get address(): string {
    return "socketPath" in this.#target ? `unix:${this.#target.socketPath}` : `${this.#target.host}:${this.#target.port}`;
  }

  async scan(stream: Readable, _meta: ScanMeta): Promise<ScanVerdict> {
    let signatureVersion: string;
    try {
      signatureVersion = await this.version();
    } catch (error) {
      stream.destroy();
      return failure(`clamd unavailable: ${messageOf(error)}`);
    }
    let release: () => void;
    try {
      release = await this.#slots.acquire(this.#timeoutMs);
    } catch {
      stream.destroy();
      return failure(`all ${this.#slots.size} clamd connections stayed busy for ${this.#timeoutMs} ms`);
    }
    try {
      const deadline = Date.now() + this.#timeoutMs;
      let socket: Socket;
      try {
        socket = await this.#connect();
      } catch (error) {
        stream.destroy();
        return failure(messageOf(error));
      }
      const outcome = await instream(socket, stream, {
        chunkSize: this.#chunkSize,
        idleTimeoutMs: this.#idleTimeoutMs,
        remainingMs: Math.max(1, deadline - Date.now()),
        timeoutMs: this.#timeoutMs,
        streamMaxLength: this.#streamMaxLength,
      });
      return classifyInstream(outcome, signatureVersion);
    } finally {
      release();
    }
  }

  /** `zVERSION`, e.g. "ClamAV 1.4.6/27419/Tue Oct  1 08:35:42 2024" (no "/db" part with only custom signatures). */
  async version(): Promise<string> {
    if (this.#version && Date.now() - this.#version.at < this.#versionTtlMs) return this.#version.value;
    this.#versionInFlight ??= this.#command("VERSION")
      .then((reply) => {
        if (!reply.startsWith("ClamAV ")) throw new Error(`unexpected VERSION reply from clamd: ${JSON.stringify(reply.slice(0, 100))}`);
        this.#version = { value: reply, at: Date.now() };
        return reply;
      })
      .finally(() => {
        this.#versionInFlight = undefined;
      });
    return this.#versionInFlight;
  }

  async health(): Promise<void> {
    const reply = await this.#command("PING");
    if (reply !== "PONG") throw new Error(`clamd at ${this.address} answered PING with ${JSON.stringify(reply.slice(0, 100))}`);
  }

  /** Sends one `z`-command and returns its reply without the trailing `\0`. */
  async #command(command: "PING" | "VERSION"): Promise<string> {
    let release: () => void;
    try {
      release = await this.#slots.acquire(this.#timeoutMs);
    } catch {
      throw new Error(`all ${this.#slots.size} clamd connections stayed busy for ${this.#timeoutMs} ms`);
    }
    try {
      const socket = await this.#connect();
      try {
        return await new Promise<string>((resolve, reject) => {
          let received = Buffer.alloc(0);
          const timer = setTimeout(
            () => reject(new Error(`clamd at ${this.address} did not answer ${command} within ${this.#timeoutMs} ms`)),
            this.#timeoutMs,
          );
          const settle = (fn: () => void) => {
            clearTimeout(timer);
            fn();
          };
          socket.on("data", (data: Buffer) => {
            received = Buffer.concat([received, data]);
            const end = received.indexOf(0);
            if (end >= 0) settle(() => resolve(received.subarray(0, end).toString("utf8").trim()));
            else if (received.length > 4096)
              settle(() => reject(new Error(`clamd sent ${received.length} bytes without ending the ${command} reply`)));
          });
          socket.on("error", (error) =>
            settle(() => reject(new Error(`${command} to clamd at ${this.address} failed: ${messageOf(error)}`))),
          );
          socket.on("close", () =>
            settle(() => reject(new Error(`clamd at ${this.address} closed the connection without answering ${command}`))),
          );
          socket.write(`z${command}\0`);
        });
      } finally {
        socket.destroy();
      }
    } finally {
      release();
    }
  }

  #connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const target = this.#target;
      const socket = "socketPath" in target ? connect(target.socketPath) : connect(target.port, target.host);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`could not connect to clamd at ${this.address} within ${this.#connectTimeoutMs} ms`));
      }, this.#connectTimeoutMs);
      const onError = (error: Error) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to clamd at ${this.address}: ${messageOf(error)}`));
      };
      socket.once("error", onError);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", onError);
        resolve(socket);
      });
    });
  }
}

/** What happened on one INSTREAM connection, before interpretation. */
export interface InstreamOutcome {
  /** Reply text up to the first `\0` (or everything received when there was none). */
  reply: string;
  /** The `\0` that ends a reply arrived. */
  complete: boolean;
  /** The zero-length chunk was written: clamd has the whole file. */
  terminatorSent: boolean;
  bytesSent: number;
  sourceError?: Error;
  socketError?: NodeJS.ErrnoException;
  timeout?: string;
  /** Stopped by the client because the stream passed `streamMaxLength`. */
  overClientLimit?: number;
}

interface InstreamOptions {
  chunkSize: number;
  idleTimeoutMs: number;
  remainingMs: number;
  timeoutMs: number;
  streamMaxLength: number | undefined;
}

const STOPPED = Symbol("stopped");

/**
 * Streams `source` to clamd with backpressure: a chunk is written only after the previous write was
 * accepted (`write()` returned true) or the socket drained, so at most about one chunk sits in our
 * buffers and a slow clamd slows the source down. Stops as soon as clamd answers or closes (it does both
 * early after a size-limit error). Always destroys the socket, and the source unless it ended.
 */
async function instream(socket: Socket, source: Readable, options: InstreamOptions): Promise<InstreamOutcome> {
  const outcome: InstreamOutcome = { reply: "", complete: false, terminatorSent: false, bytesSent: 0 };
  const received: Buffer[] = [];
  let done = false;
  let finish!: () => void;
  const finished = new Promise<typeof STOPPED>((resolve) => {
    finish = () => resolve(STOPPED);
  });
  const stop = () => {
    done = true;
    finish();
  };

  socket.on("data", (data: Buffer) => {
    received.push(data);
    if (data.includes(0)) {
      outcome.complete = true;
      stop();
    }
  });
  // EPIPE/ECONNRESET usually mean clamd already answered and closed (size limit): keep what arrived.
  socket.on("error", (error: NodeJS.ErrnoException) => {
    outcome.socketError ??= error;
    stop();
  });
  socket.on("close", stop);
  socket.setTimeout(options.idleTimeoutMs, () => {
    outcome.timeout ??= `clamd made no progress for ${options.idleTimeoutMs} ms`;
    stop();
  });
  const deadline = setTimeout(() => {
    outcome.timeout ??= `clamd did not answer within ${options.timeoutMs} ms`;
    stop();
  }, options.remainingMs);

  try {
    socket.write("zINSTREAM\0");
    const chunks = source[Symbol.asyncIterator]();
    pump: while (!done) {
      const next = chunks.next();
      next.catch(() => {}); // when we stop first, a later rejection of this read must not go unhandled
      const read = await Promise.race([next, finished]);
      if (read === STOPPED) break;
      if (read.done) {
        socket.write(Buffer.alloc(4));
        outcome.terminatorSent = true;
        socket.setTimeout(0); // clamd is silent while it scans: only the overall deadline applies now
        await finished;
        break;
      }
      const chunk: Buffer = typeof read.value === "string" ? Buffer.from(read.value) : read.value;
      // Empty chunks are skipped: a zero length is the terminator.
      for (let offset = 0; offset < chunk.length; offset += options.chunkSize) {
        const piece = chunk.subarray(offset, offset + options.chunkSize);
        if (options.streamMaxLength !== undefined && outcome.bytesSent + piece.length > options.streamMaxLength) {
          outcome.overClientLimit = options.streamMaxLength;
          break pump;
        }
        const header = Buffer.allocUnsafe(4);
        header.writeUInt32BE(piece.length);
        socket.write(header);
        const accepted = socket.write(piece);
        outcome.bytesSent += piece.length;
        if (!accepted) await Promise.race([drained(socket), finished]);
        if (done) break pump;
      }
    }
  } catch (error) {
    outcome.sourceError = error instanceof Error ? error : new Error(String(error));
  } finally {
    clearTimeout(deadline);
    socket.setTimeout(0);
    socket.destroy();
    if (!source.readableEnded) source.destroy();
  }

  const all = Buffer.concat(received);
  const end = all.indexOf(0);
  outcome.reply = (end >= 0 ? all.subarray(0, end) : all).toString("utf8").trim();
  return outcome;
}

function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once("drain", resolve));
}

/** The meaning of one complete clamd reply to INSTREAM (without the trailing `\0`). */
export type ClamdReply =
  | { kind: "clean" }
  | { kind: "infected"; threats: string[] }
  | { kind: "unscannable"; reason: string }
  | { kind: "error"; reason: string };

export function parseClamdReply(text: string): ClamdReply {
  const reply = text.replace(/\0+$/, "").trim();
  if (reply === "stream: OK") return { kind: "clean" };
  if (SIZE_LIMIT.test(reply)) return { kind: "unscannable", reason: `clamd: ${reply}` };
  const found = /^stream: (\S.*) FOUND$/.exec(reply);
  if (found?.[1]) {
    const name = found[1];
    if (UNSCANNABLE_NAME.test(name)) return { kind: "unscannable", reason: `clamd: ${name}` };
    return { kind: "infected", threats: [name] };
  }
  return { kind: "error", reason: `unexpected reply from clamd: ${JSON.stringify(reply.slice(0, 200))}` };
}

/** Turns what happened on the connection into a verdict. Order matters: see the class invariant. */
export function classifyInstream(outcome: InstreamOutcome, signatureVersion: string | undefined): ScanVerdict {
  const raw = {
    reply: outcome.reply,
    bytesSent: outcome.bytesSent,
    terminatorSent: outcome.terminatorSent,
    ...(outcome.socketError?.code ? { socketError: outcome.socketError.code } : {}),
  };
  if (outcome.sourceError) return failure(`source stream failed: ${outcome.sourceError.message}`, raw);
  if (outcome.overClientLimit !== undefined) {
    return {
      kind: "unscannable",
      engine: ENGINE,
      reason: `stream is larger than clamd's StreamMaxLength (${outcome.overClientLimit} bytes)`,
      signatureVersion,
      raw,
    };
  }
  // clamd says this before closing; we may see it complete, or cut by the reset that follows.
  if (SIZE_LIMIT.test(outcome.reply)) {
    return { kind: "unscannable", engine: ENGINE, reason: `clamd: ${outcome.reply}`, signatureVersion, raw };
  }
  if (outcome.complete) {
    const parsed = parseClamdReply(outcome.reply);
    switch (parsed.kind) {
      case "clean":
        if (!outcome.terminatorSent) return failure("clamd answered OK before it had the whole stream", raw);
        return { kind: "clean", engine: ENGINE, signatureVersion, raw };
      case "infected":
        return { kind: "infected", engine: ENGINE, threats: parsed.threats, signatureVersion, raw };
      case "unscannable":
        return { kind: "unscannable", engine: ENGINE, reason: parsed.reason, signatureVersion, raw };
      case "error":
        return failure(parsed.reason, raw);
    }
  }
  const partial = outcome.reply ? ` (partial reply ${JSON.stringify(outcome.reply.slice(0, 200))})` : "";
  if (outcome.timeout) return failure(`${outcome.timeout}${partial}`, raw);
  if (outcome.socketError)
    return failure(`connection to clamd failed: ${outcome.socketError.code ?? outcome.socketError.message}${partial}`, raw);
  return failure(`clamd closed the connection without a complete answer${partial}`, raw);
}

function failure(reason: string, raw?: unknown): ScanVerdict {
  return { kind: "error", engine: ENGINE, reason, retryable: true, ...(raw === undefined ? {} : { raw }) };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
