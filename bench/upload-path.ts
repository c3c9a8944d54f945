/**
 * How fast do bytes get through the storage data path (goals: local driver ≥ 0.9× raw node:http with the same
 * fsync policy and ≥ 1.2× @tus/server; S3 driver ≥ 0.95× a plain @aws-sdk upload)?
 *   npx tsx bench/upload-path.ts [--storage local|s3] [--rounds 5] [--sizes 1,16,256] [--files 32,8,2] [--profile DIR]
 *     [--only signed,tus]   (the baseline and the variants whose names contain one of the words)
 *
 * One client (this process, in-memory Buffers, node:http with keep-alive) drives every variant; every server
 * runs in its own process. Files of one size are sent one after another; a multipart file sends its parts
 * 4 at a time. Timed from the first request of the first file to the last 2xx of the last file.
 *
 * --profile DIR writes each server process's CPU profiles (one per thread) under DIR/<server>/.
 * --storage local (default):
 *   raw node:http PUT    a bare node:http server (its own process): PUT → createWriteStream(flush: true) →
 *                        200, i.e. the bytes are fsynced before the answer, the policy of the local driver.
 *   raw PUT + rename into a new folder, folders fsynced   the same server, plus the rest of the driver's
 *                        durability policy (the fsynced file renamed into a new folder, which and whose
 *                        parent are fsynced): what any server with that policy pays, framework aside.
 *   local signed PUT     the real API (apps/api/src/main.ts in its own process, temp database, own Redis
 *                        prefix, UV_THREADPOOL_SIZE=16 as `npm start`): one signed PUT to /storage. The
 *                        driver fsyncs the temp file, renames it into place and fsyncs the parent folder.
 *   local multipart ×4   the same API: POST ?uploads, parts PUT 4 at a time, POST complete. Signed as the
 *                        API signs it (with the part size), so the parts are written in place, into the
 *                        object's file, and completion truncates and renames it.
 *   local multipart ×4, parts copied   the same without the part size: each part its own file, copied
 *                        into the object at completion (the layout before in-place writes; every byte is
 *                        written twice, both times fsynced).
 *   tus (@tus/server)    @tus/server + @tus/file-store (its own process) and tus-js-client, one PATCH per
 *                        file. @tus/file-store never fsyncs: its answer means "in the page cache".
 *   URLs are signed in this process with the API's secret (an HMAC, microseconds): the tRPC `upload.sign`
 *   round trip is bench/api.ts's subject, not the data path's.
 *
 * --storage s3: against Ceph RGW (S3_ENDPOINT, default http://127.0.0.1:7480), a bucket made for the run.
 *   scripts/services.sh's RGW is a 1 GiB memstore: keep the sizes small (e.g. --sizes 1,16,64 --files 8,2,1);
 *   every clear runs RGW's garbage collector (radosgw-admin, RGW_CEPH_CONF), untimed, so space comes back.
 *   aws-sdk PutObject / multipart ×4   @aws-sdk/client-s3 straight to RGW (checksums WHEN_REQUIRED, as the driver)
 *   s3 driver signed PUT / multipart ×4  URLs presigned by the product's S3StorageDriver, sent by the same
 *                                        node:http client as the local variants.
 *
 * Part size: max(5 MiB, min(8 MiB, size/4)), so 16 MiB files have 4 parts of 5 MiB (the last 1 MiB) and
 * 256 MiB files 32 parts of 8 MiB (the product's default). A 1 MiB "multipart" is a single part.
 * Outputs are deleted and `sync` runs before every variant (setup, not timed). A warm-up round (not timed)
 * checks every variant's stored bytes (size and sha256). Cleans up its database, Redis keys, folders, bucket.
 * Internal: `--serve raw|tus --port N --dir D` runs one of the peer servers (how this script starts them).
 */

import { execFileSync } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { Agent, createServer, type IncomingHttpHeaders, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import type { SignedOperation } from "@airlock/shared/storage";
import {
  BENCH_DATABASE_URL,
  BENCH_REDIS_URL,
  freePort,
  machine,
  median,
  processCpuMs,
  runRounds,
  type ServerProcess,
  serviceEnv,
  startServerProcess,
  table,
  type Variant,
} from "./lib.ts";

const { values } = parseArgs({
  options: {
    storage: { type: "string", default: "local" },
    rounds: { type: "string", default: "5" },
    sizes: { type: "string", default: "1,16,256" },
    files: { type: "string", default: "32,8,2" },
    profile: { type: "string" },
    serve: { type: "string" },
    port: { type: "string" },
    dir: { type: "string" },
    "compare-root": { type: "string" },
    only: { type: "string" },
  },
});

const MiB = 1024 * 1024;
const RGW_CEPH_CONF = process.env.RGW_CEPH_CONF ?? "/tmp/airlock-services/ceph/ceph.conf";
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---- peer servers (child processes) ----------------------------------------------------------------------

async function serve(kind: string, port: number, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (kind === "raw") {
    const server = createServer((req, res) => {
      if (req.method !== "PUT") {
        res.writeHead(req.url === "/" ? 200 : 405).end();
        return;
      }
      const path = req.url ?? "/x";
      const placed = path.startsWith("/placed/");
      const name = path.slice(placed ? "/placed/".length : 1).replace(/[^A-Za-z0-9._-]/g, "_");
      // flush: fsync before close, and pipeline settles after close — durable before the 200, as the driver.
      const file = createWriteStream(join(dir, placed ? `${name}.tmp` : name), { flags: "w", flush: true, highWaterMark: MiB });
      pipeline(req, file)
        .then(() => (placed ? placeLikeTheDriver(dir, name) : undefined))
        .then(
          () => res.writeHead(200).end(),
          (error: unknown) => res.writeHead(500).end(String(error)),
        );
    });
    server.requestTimeout = 0;
    server.listen(port, "127.0.0.1");
  } else if (kind === "tus") {
    const { Server } = await import("@tus/server");
    const { FileStore } = await import("@tus/file-store");
    const tus = new Server({ path: "/files", datastore: new FileStore({ directory: dir }) });
    const server = createServer((req, res) => {
      if (req.url === "/") res.writeHead(200).end();
      else void tus.handle(req, res);
    });
    server.requestTimeout = 0;
    server.listen(port, "127.0.0.1");
  } else {
    throw new Error(`unknown --serve ${kind}`);
  }
  process.on("SIGTERM", () => process.exit(0));
}

/**
 * The driver's durability policy without the driver: the fsynced file is renamed into a folder of its own
 * (new, like an asset's), then that folder and its parent are fsynced. `PUT /placed/<name>` on the raw server.
 */
async function placeLikeTheDriver(dir: string, name: string): Promise<void> {
  const folder = join(dir, "placed", name);
  await mkdir(folder, { recursive: true });
  await rename(join(dir, `${name}.tmp`), join(folder, "payload"));
  await Promise.all(
    [folder, join(dir, "placed")].map(async (path) => {
      const handle = await open(path, "r");
      await handle.sync();
      await handle.close();
    }),
  );
}

// ---- the client -------------------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One HTTP request with an in-memory body; resolves with the whole answer. */
function send(method: string, url: string, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: { ...headers, "content-length": String(body?.length ?? 0) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function ok(answer: Answer, what: string): Answer {
  if (answer.status < 200 || answer.status > 299) throw new Error(`${what}: ${answer.status} ${answer.text.slice(0, 300)}`);
  return answer;
}

function partSize(size: number): number {
  return Math.max(5 * MiB, Math.min(8 * MiB, Math.ceil(size / 4)));
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** What a storage target must answer, whatever signs it: the S3 calls as (method, url, headers). */
type Signer = (
  operation:
    | { op: "putObject"; key: string; size: number }
    | { op: "createMultipart"; key: string; partBytes?: number }
    | { op: "uploadPart"; key: string; uploadId: string; partNumber: number; partBytes: number }
    | { op: "completeMultipart"; key: string; uploadId: string },
) => Promise<{ method: string; url: string; headers: Record<string, string> }>;

/** The product's operation for a bench call, as the API builds it (part URLs carry the upload's part size). */
function signedOperation(operation: Parameters<Signer>[0], contentType: string): SignedOperation {
  switch (operation.op) {
    case "putObject":
      return { op: operation.op, key: operation.key, contentType, maxBytes: operation.size };
    case "createMultipart":
      return {
        op: operation.op,
        key: operation.key,
        contentType,
        ...(operation.partBytes !== undefined && { partBytes: operation.partBytes }),
      };
    case "uploadPart":
      return {
        op: operation.op,
        key: operation.key,
        uploadId: operation.uploadId,
        partNumber: operation.partNumber,
        maxBytes: operation.partBytes,
      };
    case "completeMultipart":
      return operation;
  }
}

async function signedPut(sign: Signer, key: string, body: Buffer): Promise<void> {
  const s = await sign({ op: "putObject", key, size: body.length });
  ok(await send(s.method, s.url, s.headers, body), "signed PUT");
}

/** `declarePartSize`: sign the part size into the create call, as the API does (S3 ignores it). */
async function signedMultipart(sign: Signer, key: string, body: Buffer, declarePartSize = true): Promise<void> {
  const size = partSize(body.length);
  const create = await sign({ op: "createMultipart", key, ...(declarePartSize && { partBytes: size }) });
  const created = ok(await send(create.method, create.url, create.headers), "create multipart");
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text)?.[1];
  if (!uploadId) throw new Error(`no UploadId in ${created.text}`);
  const count = Math.ceil(body.length / size);
  const etags: string[] = [];
  await mapLimit(
    Array.from({ length: count }, (_, i) => i + 1),
    4,
    async (partNumber) => {
      const bytes = body.subarray((partNumber - 1) * size, partNumber * size);
      const s = await sign({ op: "uploadPart", key, uploadId, partNumber, partBytes: size });
      const answer = ok(await send(s.method, s.url, s.headers, bytes), `part ${partNumber}`);
      etags[partNumber - 1] = String(answer.headers.etag);
    },
  );
  const xml = `<CompleteMultipartUpload>${etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
  const complete = await sign({ op: "completeMultipart", key, uploadId });
  const done = ok(
    await send(complete.method, complete.url, { ...complete.headers, "content-type": "application/xml" }, Buffer.from(xml)),
    "complete",
  );
  // S3 may answer 200 with an error body when completion fails late.
  if (!done.text.includes("CompleteMultipartUploadResult")) throw new Error(`complete failed: ${done.text.slice(0, 300)}`);
}

async function emptyDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Random bytes behind a plain-text lead (as the upload tests: no format is ever detected by chance). */
function payload(size: number): Buffer {
  const bytes = randomBytes(size);
  bytes.write("airlock bench payload\n", 0, "latin1");
  return bytes;
}

interface Target {
  name: string;
  /** Uploads one file; returns what to read back for the warm-up check. */
  upload: (body: Buffer) => Promise<string>;
  /** The stored bytes of what `upload` returned. */
  readBack: (ref: string) => Promise<Buffer>;
  /** Deletes every output (not timed). */
  clear: () => Promise<void>;
  /** The server process, for its CPU time (Ceph RGW's is not measured). */
  pid?: number;
}

async function main(): Promise<void> {
  const sizes = values.sizes.split(",").map(Number);
  const files = values.files.split(",").map(Number);
  const rounds = Number(values.rounds);
  const work = join(tmpdir(), `airlock-bench-upload-${process.pid}`);
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((error: unknown) => log(`cleanup: ${String(error)}`));
    agent.destroy();
    await rm(work, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  const startedAt = machine();
  try {
    const all = values.storage === "s3" ? await s3Targets(cleanups) : await localTargets(work, cleanups);
    // --only: the baseline (first) and the variants whose names contain one of the given words.
    const only = values.only?.split(",").map((word) => word.trim());
    const targets = only ? all.filter((t, i) => i === 0 || only.some((word) => t.name.includes(word))) : all;
    const baseline = targets[0]?.name as string;
    const second = values.storage === "s3" ? targets[2] : targets.find((t) => t.name.startsWith("tus"));
    const also = second ? [second.name] : [];

    // Warm-up (not timed): every target stores one file of each size exactly.
    for (const size of sizes) {
      const body = payload(size * MiB);
      for (const target of targets) {
        log(`warm-up ${size} MiB: ${target.name}`);
        await target.clear();
        const stored = await target.readBack(await target.upload(body));
        if (stored.length !== body.length || sha256(stored) !== sha256(body))
          throw new Error(`${target.name} stored ${stored.length} bytes, not the ${body.length} sent (or other bytes)`);
      }
      log(`warm-up ${size} MiB: every variant stored the exact bytes`);
    }

    const tables: string[] = [];
    for (const [index, size] of sizes.entries()) {
      const count = files[index] ?? 1;
      const body = payload(size * MiB);
      const cpu = new Map<string, { server: number[]; client: number[] }>();
      const variants: Variant[] = targets.map((target) => ({
        name: target.name,
        setup: async () => {
          for (const t of targets) await t.clear();
          execFileSync("sync");
          // Fresh connections per variant: a socket left idle while other variants ran may be closed by the
          // server (keep-alive timeout) just as it is reused (EPIPE).
          agent.destroy();
        },
        run: async () => {
          const server = target.pid ? processCpuMs(target.pid) : Number.NaN;
          const client = process.cpuUsage();
          for (let i = 0; i < count; i++) await target.upload(body);
          const used = process.cpuUsage(client);
          const entry = cpu.get(target.name) ?? { server: [], client: [] };
          entry.server.push((target.pid ? processCpuMs(target.pid) - server : Number.NaN) / ((count * body.length) / MiB));
          entry.client.push((used.user + used.system) / 1000 / ((count * body.length) / MiB));
          cpu.set(target.name, entry);
          return (count * body.length) / 1e6;
        },
      }));
      const results = await runRounds(variants, rounds, log);
      const cpuRows = targets.map((t) => {
        const entry = cpu.get(t.name) ?? { server: [], client: [] };
        return `| ${t.name} | ${t.pid ? median(entry.server).toFixed(2) : "n/a"} | ${median(entry.client).toFixed(2)} |`;
      });
      tables.push(
        `### ${size} MiB × ${count} files\n\n${table(results, baseline, "MB", { ratio: "rate", also })}\n\n` +
          `| variant | server CPU ms per MiB (median) | client CPU ms per MiB (median) |\n|---|---|---|\n${cpuRows.join("\n")}`,
      );
    }
    for (const target of targets) await target.clear();

    console.log(`\n## Upload data path, ${values.storage} — ${startedAt}; at the end: ${machine().split(", ").pop()}\n`);
    console.log(tables.join("\n\n"));
    console.log(
      `\nReproduce: npx tsx bench/upload-path.ts --storage ${values.storage} --rounds ${rounds} --sizes ${values.sizes} --files ${values.files}${values.only ? ` --only "${values.only}"` : ""}`,
    );
  } finally {
    await cleanup();
  }
}

async function localTargets(work: string, cleanups: Array<() => Promise<void>>): Promise<Target[]> {
  const { createTempDatabase } = await import("@airlock/db/testing");
  const { createRedis, deleteKeysWithPrefix } = await import("@airlock/shared/redis");
  const { LocalStorageDriver } = await import("@airlock/shared/storage/local");
  const database = await createTempDatabase(BENCH_DATABASE_URL, { label: "bench_upload" });
  cleanups.push(() => database.drop());
  const prefix = `airlock-bench-upload-${randomBytes(4).toString("hex")}`;
  cleanups.push(async () => {
    const redis = createRedis(BENCH_REDIS_URL, { maxRetriesPerRequest: 2 });
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  });

  const dataDir = join(work, "api-data");
  const rawDir = join(work, "raw");
  const tusDir = join(work, "tus");
  const secret = randomBytes(32).toString("hex");
  // As `npm start` runs the API; the peers get the same libuv pool.
  const serverEnv = { UV_THREADPOOL_SIZE: "16" };
  const start = async (name: string, args: (port: number) => string[], env: Record<string, string>, readyPath: string, cwd?: string) => {
    const port = await freePort();
    const profile = values.profile ? ["--cpu-prof", "--cpu-prof-dir", join(values.profile, name)] : [];
    const server: ServerProcess = await startServerProcess([...profile, ...args(port)], {
      port,
      env: { ...serverEnv, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, ...env },
      readyPath,
      cwd,
    });
    cleanups.push(() => server.stop());
    return server;
  };
  const self = new URL(import.meta.url).pathname;
  const startApi = (name: string, root: string | undefined, dir: string) =>
    start(
      name,
      () => ["--import", "tsx", "apps/api/src/main.ts"],
      serviceEnv({ databaseUrl: database.url, prefix, dataDir: dir, secret, scanner: "mock" }),
      "/healthz",
      root,
    );
  const api = await startApi("api", undefined, dataDir);
  const compare = values["compare-root"] ? await startApi("api-compare", values["compare-root"], join(work, "compare-data")) : undefined;
  const raw = await start("raw", (port) => ["--import", "tsx", self, "--serve", "raw", "--dir", rawDir, "--port", String(port)], {}, "/");
  const tus = await start("tus", (port) => ["--import", "tsx", self, "--serve", "tus", "--dir", tusDir, "--port", String(port)], {}, "/");

  // Signs exactly as the API's driver does (same secret, same public URL).
  const contentType = "application/octet-stream";
  const signerFor = (url: string): Signer => {
    const driver = new LocalStorageDriver({ dataDir: join(work, "unused"), publicUrl: url, secret });
    return async (operation) => {
      return driver.sign(signedOperation(operation, contentType), 900);
    };
  };
  const newKey = () => `uploads/bench/${randomUUID()}/payload.bin`;
  /** The product's two ways in, through one API server. */
  const apiTargets = (server: ServerProcess, dir: string, label: string): Target[] => {
    const sign = signerFor(server.url);
    const clear = async () => {
      for (const sub of ["objects", "multipart", "leases", "tmp"]) await rm(join(dir, sub), { recursive: true, force: true });
    };
    const readBack = (key: string) => readFile(join(dir, "objects", ...key.split("/")));
    return [
      {
        name: `local signed PUT (fsync)${label}`,
        upload: async (body) => {
          const key = newKey();
          await signedPut(sign, key, body);
          return key;
        },
        readBack,
        clear,
        pid: server.child.pid,
      },
      {
        name: `local multipart ×4 (fsync)${label}`,
        upload: async (body) => {
          const key = newKey();
          await signedMultipart(sign, key, body);
          return key;
        },
        readBack,
        clear,
        pid: server.child.pid,
      },
      {
        name: `local multipart ×4, parts copied (fsync)${label}`,
        upload: async (body) => {
          const key = newKey();
          await signedMultipart(sign, key, body, false);
          return key;
        },
        readBack,
        clear,
        pid: server.child.pid,
      },
    ];
  };
  const { Upload } = await import("tus-js-client");

  return [
    {
      name: "raw node:http PUT (fsync)",
      upload: async (body) => {
        const name = randomUUID();
        ok(await send("PUT", `${raw.url}/${name}`, { "content-type": contentType }, body), "raw PUT");
        return name;
      },
      readBack: (name) => readFile(join(rawDir, name)),
      clear: () => emptyDir(rawDir),
      pid: raw.child.pid,
    },
    {
      name: "raw PUT + rename into a new folder, folders fsynced",
      upload: async (body) => {
        const name = randomUUID();
        ok(await send("PUT", `${raw.url}/placed/${name}`, { "content-type": contentType }, body), "raw placed PUT");
        return name;
      },
      readBack: (name) => readFile(join(rawDir, "placed", name, "payload")),
      clear: () => emptyDir(rawDir),
      pid: raw.child.pid,
    },
    ...apiTargets(api, dataDir, ""),
    {
      name: "tus (@tus/server, no fsync)",
      upload: (body) =>
        new Promise<string>((resolve, reject) => {
          const upload = new Upload(body, {
            endpoint: `${tus.url}/files`,
            chunkSize: Number.POSITIVE_INFINITY,
            uploadSize: body.length,
            metadata: { filename: "payload.bin", filetype: contentType },
            retryDelays: [],
            storeFingerprintForResuming: false,
            onError: reject,
            onSuccess: () => resolve(String(upload.url).split("/").pop() as string),
          });
          upload.start();
        }),
      readBack: (id) => readFile(join(tusDir, id)),
      clear: () => emptyDir(tusDir),
      pid: tus.child.pid,
    },
    ...(compare ? apiTargets(compare, join(work, "compare-data"), " [compare-root]") : []),
  ];
}

async function s3Targets(cleanups: Array<() => Promise<void>>): Promise<Target[]> {
  const s3sdk = await import("@aws-sdk/client-s3");
  const { S3StorageDriver } = await import("@airlock/shared/storage");
  const endpoint = process.env.S3_ENDPOINT ?? "http://127.0.0.1:7480";
  const credentials = {
    accessKeyId: process.env.S3_ACCESS_KEY_ID ?? "airlock-test",
    secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? "airlock-test-secret",
  };
  const Bucket = `airlock-bench-${randomBytes(4).toString("hex")}`;
  const client = new s3sdk.S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  await client.send(new s3sdk.CreateBucketCommand({ Bucket }));
  const clear = async () => {
    for (;;) {
      const listed = await client.send(new s3sdk.ListObjectsV2Command({ Bucket }));
      const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key as string }));
      if (keys.length === 0) break;
      await client.send(new s3sdk.DeleteObjectsCommand({ Bucket, Delete: { Objects: keys } }));
    }
    const uploads = await client.send(new s3sdk.ListMultipartUploadsCommand({ Bucket }));
    for (const u of uploads.Uploads ?? [])
      await client.send(new s3sdk.AbortMultipartUploadCommand({ Bucket, Key: u.Key as string, UploadId: u.UploadId as string }));
    // scripts/services.sh's RGW keeps everything in a 1 GiB memstore, and deleted objects wait for RGW's
    // garbage collector (hours): without this, a few runs of big files fill the OSD and block every writer.
    if (existsSync(RGW_CEPH_CONF))
      execFileSync("radosgw-admin", ["-c", RGW_CEPH_CONF, "-n", "client.rgw", "gc", "process", "--include-all"], { stdio: "ignore" });
  };
  cleanups.push(async () => {
    await clear();
    await client.send(new s3sdk.DeleteBucketCommand({ Bucket }));
    client.destroy();
  });
  const driver = new S3StorageDriver({ endpoint, region: "us-east-1", bucket: Bucket, forcePathStyle: true, ...credentials });
  const contentType = "application/octet-stream";
  const sign: Signer = async (operation) => {
    return driver.sign(signedOperation(operation, contentType), 900);
  };
  const newKey = () => `uploads/bench/${randomUUID()}/payload.bin`;
  const readBack = async (Key: string) => {
    const got = await client.send(new s3sdk.GetObjectCommand({ Bucket, Key }));
    return Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  };
  return [
    {
      name: "aws-sdk PutObject",
      upload: async (body) => {
        const Key = newKey();
        await client.send(new s3sdk.PutObjectCommand({ Bucket, Key, Body: body, ContentType: contentType }));
        return Key;
      },
      readBack,
      clear,
    },
    {
      name: "s3 driver signed PUT",
      upload: async (body) => {
        const key = newKey();
        await signedPut(sign, key, body);
        return key;
      },
      readBack,
      clear,
    },
    {
      name: "aws-sdk multipart ×4",
      upload: async (body) => {
        const Key = newKey();
        const { UploadId } = await client.send(new s3sdk.CreateMultipartUploadCommand({ Bucket, Key, ContentType: contentType }));
        const size = partSize(body.length);
        const count = Math.ceil(body.length / size);
        const parts: Array<{ PartNumber: number; ETag: string }> = [];
        await mapLimit(
          Array.from({ length: count }, (_, i) => i + 1),
          4,
          async (PartNumber) => {
            const { ETag } = await client.send(
              new s3sdk.UploadPartCommand({
                Bucket,
                Key,
                UploadId,
                PartNumber,
                Body: body.subarray((PartNumber - 1) * size, PartNumber * size),
              }),
            );
            parts[PartNumber - 1] = { PartNumber, ETag: ETag as string };
          },
        );
        await client.send(new s3sdk.CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
        return Key;
      },
      readBack,
      clear,
    },
    {
      name: "s3 driver signed multipart ×4",
      upload: async (body) => {
        const key = newKey();
        await signedMultipart(sign, key, body);
        return key;
      },
      readBack,
      clear,
    },
  ];
}

if (values.serve) {
  await serve(values.serve, Number(values.port), values.dir as string);
} else {
  await main();
}
