import { readFile } from "node:fs/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actualShape, defaultSchemaPath, diffShapes, expectedShape } from "./drift.ts";
import { createTempDatabase, type TempDatabase } from "./testing.ts";

describe("[DB][DRIFT]", () => {
  let db: TempDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTempDatabase(process.env.DATABASE_URL as string, { label: "drift" });
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  it("the migrated database matches schema.prisma exactly", async () => {
    expect(diffShapes(await expectedShape(), await actualShape(client))).toEqual([]);
  });

  it("notices a model field that has no migration", async () => {
    const schema = await readFile(defaultSchemaPath, "utf8");
    const edited = schema.replace("model Alert {", "model Alert {\n  acknowledgedBy String?");
    expect(diffShapes(await expectedShape(edited), await actualShape(client))).toEqual([
      "missing in database columns: Alert.acknowledgedBy: text null",
    ]);
  });

  it("notices a database change that schema.prisma does not describe", async () => {
    await client.query(`BEGIN`);
    try {
      await client.query(`DROP INDEX "Asset_sha256_idx"`);
      await client.query(`ALTER TABLE "Asset" ALTER COLUMN "safeName" DROP NOT NULL`);
      const diff = diffShapes(await expectedShape(), await actualShape(client));
      expect(diff).toContain("missing in database indexes: Asset(sha256) index");
      expect(diff).toContain("missing in database columns: Asset.safeName: text not null");
      expect(diff).toContain("not in schema.prisma columns: Asset.safeName: text null");
    } finally {
      await client.query(`ROLLBACK`);
    }
  });
});
