import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storageDrivers } from "../../../test/storage-drivers.ts";
import {
  type Attacker,
  adminPayloads,
  type BadInput,
  badInputs,
  CATALOGUE_ENV,
  type Expected,
  NOTHING,
  type Outcome,
} from "./bad-inputs.cases.ts";
import { seedUser, startTestServer, type TestServer } from "./test-server.ts";
import { uploadFile } from "./test-upload-client.ts";

/**
 * The bad-input catalogue (bad-inputs.cases.ts) against a real API on the local driver: every row gets
 * its answer, and leaves exactly what it may (assets, events, objects) and nothing else.
 */
describe("[SECURITY][BAD-INPUTS]", () => {
  let server: TestServer;
  let dataDir: string;
  let victim: Attacker["victim"];
  beforeAll(async () => {
    const local = await storageDrivers[0].env();
    dataDir = local.DATA_DIR ?? "";
    server = await startTestServer({ ...local, ...CATALOGUE_ENV });
    const owner = await seedUser();
    const { init } = await uploadFile(server.client(owner.key), Buffer.from("the victim's own text"), {
      filename: "victim.txt",
      mimeType: "text/plain",
    });
    victim = { assetId: init.assetId, key: owner.key };
  });
  afterAll(async () => {
    await server?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("has at least 40 cases, each with a unique name", () => {
    const all = [...badInputs, ...adminPayloads];
    expect(all.length).toBeGreaterThanOrEqual(40);
    expect(new Set(all.map((c) => c.name)).size).toBe(all.length);
  });

  async function runCase(row: BadInput, role: "USER" | "ADMIN") {
    const { key, user, keyId } = await seedUser(role);
    const attacker: Attacker = { server, key, keyId, userId: user.id, client: server.client(key), victim };
    console.info(`[bad-input] ${row.group}: ${row.attack}`);
    const outcome = await row.run(attacker);
    expect(summary(outcome), row.attack).toEqual(summary(expected(row.expect, outcome)));
    expect(text(outcome), "the caller is told why").toMatch(row.message);
    await row.check?.(attacker, outcome);
    await expectLeftOnly(attacker, { ...NOTHING, ...row.leaves });
    await expectVictimUntouched();
  }

  it.each(badInputs.map((row) => [`${row.group}: ${row.name} → ${describeExpected(row.expect)}`, row] as const))("%s", (_title, row) =>
    runCase(row, "USER"),
  );
  it.each(adminPayloads.map((row) => [`${row.group} (admin): ${row.name} → ${describeExpected(row.expect)}`, row] as const))(
    "%s",
    (_title, row) => runCase(row, "ADMIN"),
  );

  /** Nothing half-written: the attacker's rows and objects are exactly those the row allows. */
  async function expectLeftOnly(a: Attacker, leaves: typeof NOTHING) {
    const assets = await server.db.asset.findMany({ where: { ownerId: a.userId } });
    expect(assets.map((x) => x.status).sort(), "assets left").toEqual([...leaves.assets].sort());
    const events = await server.db.uploadEvent.findMany({ where: { userId: a.userId } });
    expect(events.map((e) => e.type).sort(), "upload events counted").toEqual([...leaves.events].sort());
    expect((await server.storage.list(`uploads/${a.userId}/`)).items, "objects stored").toHaveLength(leaves.objects);
    expect((await server.storage.list(`quarantine/${a.userId}/`)).items).toHaveLength(0);
    expect(await server.db.scanResult.count({ where: { assetId: { in: assets.map((x) => x.id) } } }), "no verdicts invented").toBe(0);
  }

  async function expectVictimUntouched() {
    const asset = await server.db.asset.findUniqueOrThrow({ where: { id: victim.assetId } });
    expect(asset.status).toBe("UPLOADED");
    const events = await server.db.uploadEvent.findMany({ where: { assetId: victim.assetId } });
    expect(events.map((e) => e.type).sort()).toEqual(["CONFIRMED", "INITIATED"]);
    expect(await server.storage.head(asset.storageKey)).not.toBeNull();
  }
});

function expected(want: Expected, got: Outcome): Outcome {
  if ("ok" in want) return { kind: "ok", value: got.kind === "ok" ? got.value : "(a success)" };
  if ("http" in want) return { kind: "http", status: want.http, body: got.kind === "http" ? got.body : "" };
  return { kind: "trpc", code: want.trpc, appCode: want.appCode, message: got.kind === "trpc" ? got.message : "" };
}

/** The part of an outcome a row asserts exactly (messages are matched by fragment). */
function summary(o: Outcome) {
  if (o.kind === "ok") return { kind: "ok" };
  if (o.kind === "http") return { kind: "http", status: o.status };
  return { kind: "trpc", code: o.code, appCode: o.appCode };
}

function text(o: Outcome): string {
  if (o.kind === "ok") return JSON.stringify(o.value);
  return o.kind === "http" ? o.body : o.message;
}

function describeExpected(e: Expected): string {
  if ("ok" in e) return "accepted safely";
  if ("http" in e) return `HTTP ${e.http}`;
  return e.appCode && e.appCode !== e.trpc ? `${e.trpc} ${e.appCode}` : e.trpc;
}
