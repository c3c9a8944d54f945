import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EICAR } from "./mock.ts";
import { chunked, failing, metaFor } from "./testing/streams.ts";
import { startVirusTotalStandIn, type VirusTotalStandIn, type VirusTotalStandInOptions } from "./testing/virustotal-stand-in.ts";
import type { ScanVerdict } from "./types.ts";
import { type VirusTotalOptions, VirusTotalScanner } from "./virustotal.ts";

const sha = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
const CLEAN = Buffer.from("a perfectly ordinary document\n".repeat(100));
const BAD = Buffer.from(`prefix ${EICAR} suffix`);

let standIn: VirusTotalStandIn;
let spoolDir: string;

async function setUp(standInOptions: VirusTotalStandInOptions = {}, clientOptions: Partial<VirusTotalOptions> = {}) {
  standIn = await startVirusTotalStandIn(standInOptions);
  return new VirusTotalScanner({
    apiKey: standIn.apiKey,
    baseUrl: standIn.baseUrl,
    requestsPerMinute: 1000,
    pollIntervalMs: 1_000,
    tmpDir: spoolDir,
    ...clientOptions,
  });
}

/** Polls like the worker would, until the verdict is not pending; returns it and how many polls it took. */
async function pollToEnd(scanner: VirusTotalScanner, first: ScanVerdict, meta = metaFor(0)) {
  let verdict = first;
  const pending: ScanVerdict[] = [];
  while (verdict.kind === "pending") {
    pending.push(verdict);
    verdict = await scanner.poll(verdict.ref, meta);
  }
  return { verdict, pending };
}

beforeEach(async () => {
  spoolDir = await mkdtemp(join(tmpdir(), "airlock-vt-test-"));
});

afterEach(async () => {
  await standIn?.close();
  await rm(spoolDir, { recursive: true, force: true });
});

describe("VirusTotalScanner", () => {
  it("answers a known clean hash from the lookup, without reading or uploading the file", async () => {
    const scanner = await setUp({ known: { [sha(CLEAN)]: [] } });
    const stream = chunked(CLEAN, 100);
    const verdict = await scanner.scan(stream, metaFor(CLEAN, { sha256: sha(CLEAN).toUpperCase() }));
    expect(verdict).toMatchObject({
      kind: "clean",
      engine: "virustotal",
      signatureVersion: expect.stringMatching(/^VirusTotal v3\/2023-/),
    });
    expect(standIn.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /api/v3/files/${sha(CLEAN)}`]);
    expect(standIn.requests[0]?.apiKey).toBe(standIn.apiKey);
    expect(stream.destroyed).toBe(true);
  });

  it("answers a known bad hash as infected with the malicious engines' threat names", async () => {
    const scanner = await setUp(
      { known: { [sha(BAD)]: ["Trojan.Generic", "EICAR-Test-File", "Trojan.Generic"] } },
      { maliciousThreshold: 2 },
    );
    const verdict = await scanner.scan(chunked(BAD, 10), metaFor(BAD, { sha256: sha(BAD) }));
    expect(verdict).toMatchObject({
      kind: "infected",
      threats: ["EICAR-Test-File", "Trojan.Generic"],
      raw: { source: "lookup", stats: { malicious: 3 }, detections: { Alpha: "Trojan.Generic", Bravo: "EICAR-Test-File" } },
    });
    expect(standIn.requests).toHaveLength(1);
  });

  it("is clean when fewer engines than the threshold say malicious", async () => {
    const scanner = await setUp({ known: { [sha(BAD)]: ["Heur.Maybe"] } }, { maliciousThreshold: 2 });
    expect((await scanner.scan(chunked(BAD, 10), metaFor(BAD, { sha256: sha(BAD) }))).kind).toBe("clean");
  });

  it.each([
    ["infected", BAD, { kind: "infected", threats: ["EICAR-Test-File"] }],
    ["clean", CLEAN, { kind: "clean" }],
  ])("uploads an unknown file, answers pending, and polls the analysis to %s", async (_, data, expected) => {
    const scanner = await setUp({ queuedPolls: 2 });
    // No sha256: the scanner spools to a temp file while hashing, looks up, then uploads the spooled copy.
    const first = await scanner.scan(chunked(data, 333), metaFor(data, { filename: "Quarterly Report (Jane Doe).PDF" }));
    expect(first).toMatchObject({ kind: "pending", retryAfterMs: 1_000, raw: { resume: "poll", uploaded: "files" } });
    expect(await readdir(spoolDir)).toEqual([]);

    const { verdict, pending } = await pollToEnd(scanner, first);
    expect(pending).toHaveLength(3); // the upload's pending + 2 "queued" polls
    expect(verdict).toMatchObject({ ...expected, raw: { source: "analysis" } });
    expect(standIn.requests.map((r) => `${r.method} ${r.path.replace(/analyses\/.*/, "analyses/ID")}`)).toEqual([
      `GET /api/v3/files/${sha(data)}`,
      "POST /api/v3/files",
      "GET /api/v3/analyses/ID",
      "GET /api/v3/analyses/ID",
      "GET /api/v3/analyses/ID",
    ]);
    const upload = standIn.requests[1]!;
    expect(upload.transferEncoding).toBeUndefined();
    expect(Number(upload.contentLength)).toBe(upload.bodyBytes);
    const [analysis] = standIn.analyses.values();
    expect(analysis).toMatchObject({ sha256: sha(data), size: data.length, filename: "upload.pdf" });

    // Once analysed, the file is known: the next scan of the same bytes is one lookup.
    const again = await scanner.scan(chunked(data, 1000), metaFor(data, { sha256: sha(data) }));
    expect(again.kind).toBe(expected.kind);
    expect(standIn.requests).toHaveLength(6);
  });

  it("sends files over the direct-upload limit through /files/upload_url (small limit)", async () => {
    const scanner = await setUp({ queuedPolls: 0, directUploadMaxBytes: 1_000 }, { directUploadMaxBytes: 1_000 });
    const data = Buffer.concat([Buffer.alloc(5_000, 3), BAD]);
    const first = await scanner.scan(chunked(data, 512), metaFor(data, { sha256: sha(data) }));
    expect(first).toMatchObject({ kind: "pending", raw: { uploaded: "upload_url" } });
    expect(standIn.requests.map((r) => `${r.method} ${r.path.replace(/upload\/\w+\//, "upload/TOKEN/")}`)).toEqual([
      `GET /api/v3/files/${sha(data)}`,
      "GET /api/v3/files/upload_url",
      "POST /_ah/upload/TOKEN/",
    ]);
    expect((await pollToEnd(scanner, first)).verdict).toMatchObject({ kind: "infected", threats: ["EICAR-Test-File"] });
  });

  it("sends a real 33 MB file through /files/upload_url, streamed", async () => {
    const scanner = await setUp({ queuedPolls: 0 });
    const data = Buffer.alloc(33 * 1024 * 1024, 7);
    const first = await scanner.scan(chunked(data, 64 * 1024), metaFor(data, { sha256: sha(data) }));
    expect(first).toMatchObject({ kind: "pending", raw: { uploaded: "upload_url" } });
    expect(standIn.requests.at(-1)).toMatchObject({ method: "POST", status: 200 });
    expect(standIn.requests.at(-1)!.bodyBytes).toBeGreaterThan(data.length);
    expect((await pollToEnd(scanner, first)).verdict.kind).toBe("clean");
  });

  it("turns the 5th request within a minute into pending with the wait, and never sends it", async () => {
    const files = [1, 2, 3, 4, 5].map((i) => Buffer.from(`file ${i}`));
    const scanner = await setUp({ known: Object.fromEntries(files.map((f) => [sha(f), []])) }, { requestsPerMinute: 4 });
    for (const file of files.slice(0, 4)) {
      expect((await scanner.scan(chunked(file, 4), metaFor(file, { sha256: sha(file) }))).kind).toBe("clean");
    }
    const fifth = await scanner.scan(chunked(files[4]!, 4), metaFor(files[4]!, { sha256: sha(files[4]!) }));
    expect(fifth).toMatchObject({ kind: "pending", ref: `rescan:${sha(files[4]!)}`, raw: { resume: "scan", rateLimited: true } });
    expect(fifth.kind === "pending" && fifth.retryAfterMs).toBeGreaterThan(10_000);
    expect(fifth.kind === "pending" && fifth.retryAfterMs).toBeLessThanOrEqual(15_000);
    expect(standIn.requests).toHaveLength(4);
    // Polling is rate-limited the same way.
    expect(await scanner.poll("some-analysis", metaFor(0))).toMatchObject({ kind: "pending", ref: "some-analysis" });
    expect(standIn.requests).toHaveLength(4);
  });

  it("a rescan ref is answered by a lookup when VirusTotal knows the file, else asks for a new scan", async () => {
    const scanner = await setUp({ known: { [sha(BAD)]: ["X"] } });
    expect(await scanner.poll(`rescan:${sha(BAD)}`, metaFor(BAD))).toMatchObject({ kind: "infected", threats: ["X"] });
    expect(await scanner.poll(`rescan:${sha(CLEAN)}`, metaFor(CLEAN))).toMatchObject({ kind: "error", retryable: true });
    expect(await scanner.poll("rescan:", metaFor(CLEAN))).toMatchObject({ kind: "error", retryable: true });
  });

  it("answers 429 with a retryable error and stops sending until its bucket refills", async () => {
    const scanner = await setUp({ requestsPerMinute: 1, known: { [sha(CLEAN)]: [] } });
    const meta = metaFor(CLEAN, { sha256: sha(CLEAN) });
    expect((await scanner.scan(chunked(CLEAN, 100), meta)).kind).toBe("clean");
    expect(await scanner.scan(chunked(CLEAN, 100), meta)).toMatchObject({
      kind: "error",
      retryable: true,
      reason: expect.stringContaining("429 QuotaExceededError"),
    });
    expect((await scanner.scan(chunked(CLEAN, 100), meta)).kind).toBe("pending");
    expect(standIn.requests.map((r) => r.status)).toEqual([200, 429]);
  });

  it("answers 5xx with a retryable error", async () => {
    const scanner = await setUp();
    standIn.failNext(503);
    expect(await scanner.scan(chunked(CLEAN, 100), metaFor(CLEAN, { sha256: sha(CLEAN) }))).toMatchObject({
      kind: "error",
      retryable: true,
    });
  });

  it("answers a bad key with a non-retryable error and reports it in health()", async () => {
    const scanner = await setUp({ apiKey: "the-real-key" }, { apiKey: "a-wrong-key" });
    await expect(scanner.health()).resolves.toBeUndefined();
    expect(await scanner.scan(chunked(CLEAN, 100), metaFor(CLEAN, { sha256: sha(CLEAN) }))).toMatchObject({
      kind: "error",
      retryable: false,
      reason: expect.stringContaining("401 WrongCredentialsError"),
    });
    await expect(scanner.health()).rejects.toThrow(/rejected the API key/);
  });

  it("fails closed when the source fails while spooling, and removes the temp file", async () => {
    const scanner = await setUp();
    expect(await scanner.scan(failing(Buffer.alloc(10_000, 1)), metaFor(20_000))).toMatchObject({
      kind: "error",
      retryable: true,
      reason: expect.stringContaining("storage read failed"),
    });
    expect(await readdir(spoolDir)).toEqual([]);
    expect(standIn.requests).toHaveLength(0);
  });

  it("is unscannable for an unknown file over VirusTotal's upload limit", async () => {
    const scanner = await setUp({}, { maxUploadBytes: 100 });
    const data = Buffer.alloc(1_000, 9);
    // No sha256 and too big to upload: hashed without a temp copy, looked up, unknown.
    expect(await scanner.scan(Readable.from([data]), metaFor(data))).toMatchObject({ kind: "unscannable" });
    expect(await readdir(spoolDir)).toEqual([]);
    expect(standIn.requests).toHaveLength(1);
  });

  it("never sends the key to an upload URL on another origin", async () => {
    standIn = await startVirusTotalStandIn({});
    const realFetch = globalThis.fetch;
    const scanner = new VirusTotalScanner({
      apiKey: standIn.apiKey,
      baseUrl: standIn.baseUrl,
      requestsPerMinute: 100,
      directUploadMaxBytes: 10,
      fetch: async (input, init) => {
        if (String(input).endsWith("/files/upload_url")) return Response.json({ data: "https://evil.example/upload" });
        return realFetch(input, init);
      },
    });
    const verdict = await scanner.scan(chunked(CLEAN, 100), metaFor(CLEAN, { sha256: sha(CLEAN) }));
    expect(verdict).toMatchObject({ kind: "error", reason: expect.stringContaining("another origin") });
  });
});
