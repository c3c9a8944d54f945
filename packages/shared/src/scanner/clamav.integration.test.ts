import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, readFileSync } from "node:fs";
import { type AddressInfo, connect, createServer, type Server } from "node:net";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ClamAvScanner, type ClamAvTarget } from "./clamav.ts";
import { EICAR } from "./mock.ts";
import { MultiScanner } from "./multi.ts";
import { readInstream, startFakeClamd } from "./testing/fake-clamd.ts";
import { chunked, generated, metaFor } from "./testing/streams.ts";
import { startVirusTotalStandIn, type VirusTotalStandIn } from "./testing/virustotal-stand-in.ts";
import { storedZip } from "./testing/zip.ts";
import type { ScanVerdict } from "./types.ts";
import { VirusTotalScanner } from "./virustotal.ts";

/**
 * Against the real clamd of scripts/services.sh (our own signatures, StreamMaxLength 25M). When it does not
 * answer PING, beforeAll starts it; if it still does not answer, every test here fails (never skips), CI or not.
 */
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const STATE = process.env.AIRLOCK_SERVICES_DIR ?? "/tmp/airlock-services";
const TCP = { host: "127.0.0.1", port: Number(process.env.AIRLOCK_CLAMD_PORT ?? 3310) };
const UNIX = { socketPath: `${STATE}/clamav/run/clamd.sock` };
const TESTFILES = "/usr/share/clamav-testfiles";
const MB = 1024 * 1024;
const STREAM_MAX = 25 * MB;

const sha = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const eicar = Buffer.from(EICAR, "latin1");
const embedded = Buffer.concat([Buffer.alloc(MB, 0x20), eicar, Buffer.from("\ntrailing text\n")]);
const zipped = storedZip([
  { name: "readme.txt", data: "nothing to see" },
  { name: "eicar.com", data: eicar },
]);
const zipInZip = storedZip([{ name: "inner.zip", data: zipped }]);
const threeLevels = storedZip([{ name: "level2.zip", data: zipInZip }]);
const cleanBytes = Buffer.from("Quarterly numbers, all fine.\n".repeat(2_000));

/** Why clamd is unusable, when it is: every test then fails with it (a failing beforeAll only skips them). */
let clamdDown: Error | undefined;

beforeAll(async () => {
  const probe = new ClamAvScanner(TCP, { timeoutMs: 3_000 });
  try {
    await probe.health();
  } catch {
    try {
      await promisify(execFile)("bash", ["scripts/services.sh", "start", "clamd"], { cwd: ROOT, timeout: 600_000 });
      await probe.health();
    } catch (error) {
      clamdDown = new Error(`clamd is not reachable at ${TCP.host}:${TCP.port} and \`scripts/services.sh start clamd\` did not fix it`, {
        cause: error,
      });
    }
  }
}, 600_000);

beforeEach(() => {
  if (clamdDown) throw clamdDown;
});

describe.each<[string, ClamAvTarget]>([
  ["TCP", TCP],
  ["unix socket", UNIX],
])("ClamAvScanner over %s (real clamd)", (_, target) => {
  const scanner = new ClamAvScanner(target, { timeoutMs: 30_000 });

  it("answers PING and VERSION", async () => {
    await expect(scanner.health()).resolves.toBeUndefined();
    expect(await scanner.version()).toMatch(/^ClamAV \d+\.\d+/);
  });

  it("scans clean bytes as clean, with the signature version", async () => {
    const verdict = await scanner.scan(chunked(cleanBytes, 10_000), metaFor(cleanBytes));
    expect(verdict).toMatchObject({ kind: "clean", engine: "clamav", signatureVersion: expect.stringMatching(/^ClamAV \d/) });
  });

  it.each([
    ["plain", eicar],
    ["embedded in a 1 MB file", embedded],
    ["inside a zip", zipped],
    ["inside a zip inside a zip", zipInZip],
    ["three zips deep", threeLevels],
  ])("finds EICAR %s", async (_, data) => {
    const verdict = await scanner.scan(chunked(data, 7_000), metaFor(data));
    expect(verdict).toMatchObject({ kind: "infected", threats: [expect.stringMatching(/^Eicar-Test-Signature/)] });
  });

  it.each(["clam.exe", "clam.zip", "clam.tar.gz"])("finds the ClamAV test file %s", async (name) => {
    const verdict = await scanner.scan(createReadStream(`${TESTFILES}/${name}`), metaFor(readFileSync(`${TESTFILES}/${name}`)));
    expect(verdict).toMatchObject({ kind: "infected", threats: [expect.stringMatching(/^ClamAV-Test-File/)] });
  });

  it("is unscannable for a 26 MB stream (clamd's size limit)", async () => {
    const verdict = await scanner.scan(generated(26 * MB), metaFor(26 * MB));
    expect(verdict).toMatchObject({ kind: "unscannable", reason: expect.stringContaining("size limit exceeded") });
  });

  it("is unscannable for a zip of 20,000 entries (MaxFiles, reported because of AlertExceedsMax)", async () => {
    const many = storedZip(Array.from({ length: 20_000 }, (_, i) => ({ name: `f${i}.txt`, data: "x" })));
    const verdict = await scanner.scan(chunked(many, 64 * 1024), metaFor(many));
    expect(verdict).toMatchObject({ kind: "unscannable", reason: expect.stringContaining("Heuristics.Limits.Exceeded") });
  });

  it("scans a stream of exactly StreamMaxLength", async () => {
    expect((await scanner.scan(generated(STREAM_MAX), metaFor(STREAM_MAX))).kind).toBe("clean");
  });
});

describe("ClamAvScanner edge cases (real clamd)", () => {
  it("stops at a configured streamMaxLength itself, before clamd has to", async () => {
    const scanner = new ClamAvScanner(TCP, { timeoutMs: 30_000, streamMaxLength: STREAM_MAX });
    const source = generated(26 * MB);
    const verdict = await scanner.scan(source, metaFor(26 * MB));
    expect(verdict).toMatchObject({ kind: "unscannable", reason: expect.stringContaining("StreamMaxLength") });
    expect(source.destroyed).toBe(true);
  });

  it("never uses more than poolSize connections for 8 concurrent scans", async () => {
    // A counting TCP proxy in front of clamd. A connection counts from accept until its first sign of
    // closing ('end'/'error'/'close'). The count is taken in setImmediate: the client closes a socket
    // (FIN queued synchronously) before it opens the next, but both events can arrive in one poll batch in
    // either order; by the check phase every event of that batch has been handled.
    let active = 0;
    let peak = 0;
    let total = 0;
    const proxy: Server = createServer((client) => {
      const upstream = connect(TCP.port, TCP.host);
      client.pipe(upstream).pipe(client);
      let open = true;
      let counted = false;
      setImmediate(() => {
        if (!open) return;
        counted = true;
        active++;
        total++;
        peak = Math.max(peak, active);
      });
      const done = () => {
        if (open && counted) active--;
        if (open && !counted) total++;
        open = false;
        client.destroy();
        upstream.destroy();
      };
      for (const event of ["end", "close", "error"]) client.on(event, done);
      upstream.on("error", done);
      upstream.on("close", done);
    });
    proxy.listen(0, "127.0.0.1");
    await once(proxy, "listening");
    const port = (proxy.address() as AddressInfo).port;
    try {
      // Slow sources (4 × 64 KiB, 30 ms apart), so that scans overlap unless something holds them back.
      const run = (poolSize: number) => {
        const scanner = new ClamAvScanner({ host: "127.0.0.1", port }, { timeoutMs: 30_000, poolSize });
        return Promise.all(
          Array.from({ length: 8 }, (_, i) => {
            const source =
              i % 3 === 0
                ? Readable.from(
                    (async function* () {
                      yield* generated(256 * 1024, { chunkSize: 64 * 1024, delayMs: 30 });
                      yield eicar;
                    })(),
                  )
                : generated(256 * 1024, { chunkSize: 64 * 1024, delayMs: 30 });
            return scanner.scan(source, metaFor(256 * 1024));
          }),
        );
      };
      const started = Date.now();
      const verdicts = await run(2);
      const elapsed = Date.now() - started;
      expect(verdicts.map((v) => v.kind)).toEqual(["infected", "clean", "clean", "infected", "clean", "clean", "infected", "clean"]);
      expect(peak).toBeLessThanOrEqual(2);
      expect(total).toBe(9); // 8 INSTREAM + 1 VERSION (then cached)
      expect(elapsed).toBeGreaterThanOrEqual(4 * 4 * 30); // 8 scans of ≥120 ms, 2 at a time

      // The same load with poolSize 8 does overlap: the proxy counts what it should.
      peak = 0;
      await run(8);
      expect(peak).toBeGreaterThan(2);
    } finally {
      proxy.close();
    }
  });
});

describe("ClamAvScanner against a misbehaving server", () => {
  const versionThen = (onInstream: (socket: import("node:net").Socket) => void) =>
    startFakeClamd((socket) => {
      readInstream(socket).then(
        (request) => (request.command === "zVERSION" ? socket.end("ClamAV 0.0.0/fake\0") : onInstream(socket)),
        () => {},
      );
    });

  it("answers error (retryable), never clean, to garbage", async () => {
    for (const garbage of ["HELLO THERE\0", "stream: OK", "stream: OKAY\0", "\u0000", "stream: Eicar FOUND"]) {
      const fake = await versionThen((socket) => socket.end(garbage));
      try {
        const scanner = new ClamAvScanner({ host: "127.0.0.1", port: fake.port }, { timeoutMs: 2_000 });
        const verdict = await scanner.scan(chunked(cleanBytes, 4096), metaFor(cleanBytes));
        expect(verdict, JSON.stringify(garbage)).toMatchObject({ kind: "error", retryable: true });
      } finally {
        await fake.close();
      }
    }
  });

  it("answers error after the timeout when the server never answers", async () => {
    const fake = await versionThen(() => {}); // reads the whole stream, then stays silent
    try {
      const scanner = new ClamAvScanner({ host: "127.0.0.1", port: fake.port }, { timeoutMs: 400 });
      const started = Date.now();
      const verdict = await scanner.scan(chunked(cleanBytes, 4096), metaFor(cleanBytes));
      const elapsed = Date.now() - started;
      expect(verdict).toMatchObject({ kind: "error", retryable: true, reason: expect.stringContaining("did not answer within 400 ms") });
      expect(elapsed).toBeGreaterThanOrEqual(390);
      expect(elapsed).toBeLessThan(2_000);
    } finally {
      await fake.close();
    }
  });

  it("answers error (retryable) when the connection is refused", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const scanner = new ClamAvScanner({ host: "127.0.0.1", port }, { timeoutMs: 2_000 });
    const source = chunked(cleanBytes, 4096);
    expect(await scanner.scan(source, metaFor(cleanBytes))).toMatchObject({
      kind: "error",
      retryable: true,
      reason: expect.stringContaining("ECONNREFUSED"),
    });
    expect(source.destroyed).toBe(true);
    await expect(scanner.health()).rejects.toThrow(/ECONNREFUSED/);
  });

  it("answers error (retryable) when the unix socket does not exist", async () => {
    const scanner = new ClamAvScanner({ socketPath: `${STATE}/no-such.sock` }, { timeoutMs: 2_000 });
    expect(await scanner.scan(chunked(cleanBytes, 4096), metaFor(cleanBytes))).toMatchObject({ kind: "error", retryable: true });
  });
});

describe("MultiScanner with the real clamd and the VirusTotal stand-in", () => {
  let standIn: VirusTotalStandIn;
  const clamExe = readFileSync(`${TESTFILES}/clam.exe`);
  const clamd = new ClamAvScanner(TCP, { timeoutMs: 30_000 });

  beforeAll(async () => {
    standIn = await startVirusTotalStandIn({
      queuedPolls: 1,
      known: { [sha(eicar)]: ["EICAR-Test-File", "EICAR-Test-File"], [sha(cleanBytes)]: [], [sha(clamExe)]: [] },
    });
  });
  afterAll(async () => {
    await standIn.close();
  });

  const vt = () =>
    new VirusTotalScanner({ apiKey: standIn.apiKey, baseUrl: standIn.baseUrl, requestsPerMinute: 1_000, pollIntervalMs: 10 });
  const multi = (threshold: number, minAnswers: number, clam = clamd) =>
    new MultiScanner({
      engines: [
        { scanner: clam, weight: 1 },
        { scanner: vt(), weight: 1 },
      ],
      threshold,
      minAnswers,
    });
  const engines = (verdict: ScanVerdict) => (verdict.raw as { engines: Array<{ engine: string; verdict: ScanVerdict }> }).engines;

  it("both engines see EICAR: infected, with both engines' threat names", async () => {
    const verdict = await multi(0.5, 2).scan(chunked(eicar, 10), metaFor(eicar, { sha256: sha(eicar) }));
    expect(verdict).toMatchObject({ kind: "infected", threats: ["EICAR-Test-File", expect.stringMatching(/^Eicar-Test-Signature/)] });
    expect(engines(verdict).map((e) => [e.engine, e.verdict.kind])).toEqual([
      ["clamav", "infected"],
      ["virustotal", "infected"],
    ]);
  });

  it("both clean: clean, one entry per engine", async () => {
    const verdict = await multi(0.5, 2).scan(chunked(cleanBytes, 4096), metaFor(cleanBytes, { sha256: sha(cleanBytes) }));
    expect(verdict).toMatchObject({
      kind: "clean",
      signatureVersion: expect.stringMatching(/^clamav=ClamAV .* \+ virustotal=VirusTotal v3/),
    });
    expect(engines(verdict)).toHaveLength(2);
  });

  it("consensus: clamd alone flags clam.exe — infected at threshold 0.5, outvoted at 0.6", async () => {
    const meta = metaFor(clamExe, { sha256: sha(clamExe) });
    expect(await multi(0.5, 2).scan(chunked(clamExe, 100), meta)).toMatchObject({
      kind: "infected",
      threats: [expect.stringMatching(/^ClamAV-Test-File/)],
    });
    const outvoted = await multi(0.6, 2).scan(chunked(clamExe, 100), meta);
    expect(outvoted.kind).toBe("clean");
    expect(engines(outvoted)[0]?.verdict.kind).toBe("infected");
  });

  it("a file unknown to VirusTotal: pending, then poll() asks only VirusTotal", async () => {
    const fresh = Buffer.from(`fresh content ${Date.now()} ${Math.random()}`);
    const scanner = multi(0.5, 2);
    const first = await scanner.scan(chunked(fresh, 5), metaFor(fresh));
    expect(first).toMatchObject({ kind: "pending", engine: "multi" });
    if (first.kind !== "pending") throw new Error("expected pending");
    let verdict: ScanVerdict = first;
    for (let i = 0; i < 5 && verdict.kind === "pending"; i++) verdict = await scanner.poll(verdict.ref, metaFor(fresh));
    expect(verdict).toMatchObject({ kind: "clean" });
    expect(engines(verdict).map((e) => e.verdict.kind)).toEqual(["clean", "clean"]);
  });

  it("a 26 MB file that VirusTotal calls clean is still unscannable", async () => {
    const verdict = await multi(0.5, 1).scan(generated(26 * MB), metaFor(26 * MB, { sha256: sha(cleanBytes) }));
    expect(verdict.kind).toBe("unscannable");
  });

  it("fails closed: clamd down and minAnswers 2 → error; minAnswers 1 → VirusTotal's answer", async () => {
    const down = new ClamAvScanner({ host: "127.0.0.1", port: 1 }, { timeoutMs: 1_000 });
    const meta = metaFor(cleanBytes, { sha256: sha(cleanBytes) });
    expect(await multi(0.5, 2, down).scan(chunked(cleanBytes, 4096), meta)).toMatchObject({
      kind: "error",
      retryable: true,
      reason: expect.stringContaining("only 1 of 2 engines answered"),
    });
    expect((await multi(0.5, 1, down).scan(chunked(cleanBytes, 4096), meta)).kind).toBe("clean");
  });
});
