import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { ClamAvScanner, classifyInstream, type InstreamOutcome, parseClamdReply } from "./clamav.ts";
import { type FakeClamd, readInstream, startFakeClamd } from "./testing/fake-clamd.ts";
import { failing, metaFor } from "./testing/streams.ts";

describe("parseClamdReply", () => {
  it.each([
    ["stream: OK", { kind: "clean" }],
    ["stream: OK\0", { kind: "clean" }],
    ["stream: Eicar-Test-Signature.UNOFFICIAL FOUND", { kind: "infected", threats: ["Eicar-Test-Signature.UNOFFICIAL"] }],
    ["stream: Win.Test.EICAR_HDB-1 FOUND", { kind: "infected", threats: ["Win.Test.EICAR_HDB-1"] }],
    ["stream: Heuristics.Phishing.Email.SpoofedDomain FOUND", { kind: "infected", threats: ["Heuristics.Phishing.Email.SpoofedDomain"] }],
    ["stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND", { kind: "unscannable" }],
    ["stream: Heuristics.Encrypted.Zip FOUND", { kind: "unscannable" }],
    ["INSTREAM size limit exceeded. ERROR", { kind: "unscannable" }],
    ["stream: Can't allocate memory ERROR", { kind: "error" }],
    ["stream: OK but more", { kind: "error" }],
    ["stream:OK", { kind: "error" }],
    ["stream:  FOUND", { kind: "error" }],
    ["PONG", { kind: "error" }],
    ["", { kind: "error" }],
    ["\u0001\u0002garbage", { kind: "error" }],
  ])("%j → %o", (reply, expected) => {
    expect(parseClamdReply(reply)).toMatchObject(expected);
  });
});

describe("classifyInstream", () => {
  const base: InstreamOutcome = { reply: "", complete: false, terminatorSent: true, bytesSent: 10 };
  const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
  const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });

  it("is clean only for a complete OK after the terminator", () => {
    expect(classifyInstream({ ...base, reply: "stream: OK", complete: true }, "v").kind).toBe("clean");
    expect(classifyInstream({ ...base, reply: "stream: OK", complete: true, terminatorSent: false }, "v").kind).toBe("error");
    expect(classifyInstream({ ...base, reply: "stream: OK", complete: false }, "v").kind).toBe("error");
  });

  it("reads the size-limit reply through EPIPE/ECONNRESET, complete or cut", () => {
    for (const socketError of [epipe, reset]) {
      expect(
        classifyInstream(
          { ...base, terminatorSent: false, reply: "INSTREAM size limit exceeded. ERROR", complete: true, socketError },
          "v",
        ),
      ).toMatchObject({ kind: "unscannable", signatureVersion: "v" });
      expect(classifyInstream({ ...base, terminatorSent: false, reply: "INSTREAM size limit exceeded", socketError }, "v").kind).toBe(
        "unscannable",
      );
      expect(classifyInstream({ ...base, terminatorSent: false, socketError }, "v")).toMatchObject({
        kind: "error",
        retryable: true,
        reason: expect.stringContaining(socketError.code),
      });
    }
  });

  it("puts a source failure and timeouts before anything clamd said", () => {
    expect(classifyInstream({ ...base, reply: "stream: OK", complete: true, sourceError: new Error("boom") }, "v")).toMatchObject({
      kind: "error",
      reason: expect.stringContaining("boom"),
    });
    expect(classifyInstream({ ...base, timeout: "no answer in 5 ms" }, "v")).toMatchObject({ kind: "error", retryable: true });
    expect(classifyInstream({ ...base, overClientLimit: 100 }, "v").kind).toBe("unscannable");
  });
});

describe("ClamAvScanner against a fake clamd", () => {
  let fake: FakeClamd | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  /** Answers VERSION, and INSTREAM with `reply` after reading the whole stream. */
  async function fakeAnswering(reply: string, seen: Array<{ frames: number[]; bytes: Buffer }> = []) {
    return startFakeClamd((socket) => {
      readInstream(socket).then(
        (request) => {
          if (request.command === "zVERSION") socket.end("ClamAV 9.9.9/1/today\0");
          else {
            seen.push(request);
            socket.end(reply);
          }
        },
        () => {},
      );
    });
  }

  it("frames the stream in chunkSize pieces, skips empty chunks and sends one terminator", async () => {
    const seen: Array<{ frames: number[]; bytes: Buffer }> = [];
    fake = await fakeAnswering("stream: OK\0", seen);
    const scanner = new ClamAvScanner({ host: "127.0.0.1", port: fake.port }, { timeoutMs: 2_000, chunkSize: 10 });
    const data = [Buffer.from("a".repeat(25)), Buffer.alloc(0), Buffer.from("b".repeat(3))];
    const verdict = await scanner.scan(Readable.from(data), metaFor(28));
    expect(verdict).toMatchObject({ kind: "clean", signatureVersion: "ClamAV 9.9.9/1/today" });
    expect(seen[0]?.frames).toEqual([10, 10, 5, 3]);
    expect(seen[0]?.bytes.toString()).toBe(`${"a".repeat(25)}bbb`);
  });

  it("caches the version for a minute", async () => {
    fake = await fakeAnswering("stream: OK\0");
    const scanner = new ClamAvScanner({ host: "127.0.0.1", port: fake.port }, { timeoutMs: 2_000 });
    await scanner.scan(Readable.from([Buffer.from("x")]), metaFor(1));
    await scanner.scan(Readable.from([Buffer.from("y")]), metaFor(1));
    await Promise.all([scanner.version(), scanner.version()]);
    expect(fake.connections()).toBe(3); // one VERSION, two INSTREAM
  });

  it("respects backpressure: a clamd that stops reading stops the source, then the idle timeout fires", async () => {
    fake = await startFakeClamd((socket) => {
      readInstream(socket).then(
        (r) => r.command === "zVERSION" && socket.end("ClamAV 9.9.9\0"),
        () => {},
      );
      socket.once("data", () => {
        // After the first bytes of INSTREAM, stop reading: the kernel buffers fill up, then writes block.
        if (fake && fake.connections() > 1) socket.pause();
      });
    });
    let pulled = 0;
    const chunk = Buffer.alloc(64 * 1024, 1);
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 4096; i++) {
          pulled += chunk.length;
          yield chunk; // 256 MiB if nothing held it back
        }
      })(),
    );
    const scanner = new ClamAvScanner({ host: "127.0.0.1", port: fake.port }, { timeoutMs: 10_000, idleTimeoutMs: 300 });
    const verdict = await scanner.scan(source, metaFor(4096 * chunk.length));
    expect(verdict).toMatchObject({ kind: "error", retryable: true, reason: expect.stringContaining("no progress for 300 ms") });
    expect(pulled).toBeLessThan(32 * 1024 * 1024);
    expect(source.destroyed).toBe(true);
  });

  it("destroys the connection and answers error when the source fails", async () => {
    let closed = false;
    fake = await startFakeClamd((socket) => {
      socket.on("close", () => {
        closed = true;
      });
      readInstream(socket).then(
        (r) => r.command === "zVERSION" && socket.end("ClamAV 9.9.9\0"),
        () => {},
      );
    });
    const scanner = new ClamAvScanner({ host: "127.0.0.1", port: fake.port }, { timeoutMs: 2_000 });
    const verdict = await scanner.scan(failing(Buffer.from("partial")), metaFor(100));
    expect(verdict).toMatchObject({ kind: "error", retryable: true, reason: expect.stringContaining("storage read failed") });
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(true);
  });

  it("fails health() on anything but PONG", async () => {
    fake = await startFakeClamd((socket) => {
      socket.once("data", () => socket.end("PANG\0"));
    });
    const scanner = new ClamAvScanner({ host: "127.0.0.1", port: fake.port }, { timeoutMs: 2_000 });
    await expect(scanner.health()).rejects.toThrow(/PANG/);
  });
});
