import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import wasm from "@prisma/prisma-schema-wasm";
import type pg from "pg";

/**
 * Compares what schema.prisma says with what the migrated database has — tables, columns (type,
 * nullability, lists), enums, indexes and foreign keys — because our migrations are hand-committed
 * SQL and nothing else would notice when the two drift apart.
 */
export const defaultSchemaPath = fileURLToPath(new URL("../prisma/schema.prisma", import.meta.url));

export interface SchemaShape {
  /** "Table.column" → "type[] null|not null" */
  columns: Set<string>;
  /** "EnumName" → "A,B,C" as "EnumName: A,B,C" */
  enums: Set<string>;
  /** "Table(a,b) unique|index|primary" */
  indexes: Set<string>;
  /** "Table(a) -> Other(b)" */
  foreignKeys: Set<string>;
}

interface DmmfField {
  name: string;
  kind: "scalar" | "enum" | "object" | "unsupported";
  type: string;
  isList: boolean;
  isRequired: boolean;
  nativeType?: [string, string[]] | null;
  relationFromFields?: string[];
  relationToFields?: string[];
}
interface Dmmf {
  datamodel: {
    models: Array<{ name: string; fields: DmmfField[] }>;
    enums: Array<{ name: string; values: Array<{ name: string }> }>;
    indexes: Array<{ model: string; type: "id" | "unique" | "normal" | "fulltext"; fields: Array<{ name: string }> }>;
  };
}

const scalarTypes: Record<string, string> = {
  String: "text",
  Int: "int4",
  BigInt: "int8",
  Float: "float8",
  Boolean: "bool",
  DateTime: "timestamp",
  Json: "jsonb",
  Decimal: "numeric",
  Bytes: "bytea",
};
const nativeTypes: Record<string, string> = { Uuid: "uuid", Timestamptz: "timestamptz", Timestamp: "timestamp", Text: "text" };

function columnType(field: DmmfField): string {
  const native = field.nativeType?.[0];
  const base = field.kind === "enum" ? field.type : ((native && nativeTypes[native]) ?? scalarTypes[field.type] ?? field.type);
  return `${base}${field.isList ? "[]" : ""}`;
}

export async function expectedShape(schemaText?: string): Promise<SchemaShape> {
  const prismaSchema = schemaText ?? (await readFile(defaultSchemaPath, "utf8"));
  const dmmf = JSON.parse(wasm.get_dmmf(JSON.stringify({ prismaSchema }))) as Dmmf;
  const shape: SchemaShape = { columns: new Set(), enums: new Set(), indexes: new Set(), foreignKeys: new Set() };
  for (const model of dmmf.datamodel.models) {
    for (const field of model.fields) {
      if (field.kind === "object") {
        if (field.relationFromFields?.length) {
          shape.foreignKeys.add(
            `${model.name}(${field.relationFromFields.join(",")}) -> ${field.type}(${(field.relationToFields ?? []).join(",")})`,
          );
        }
        continue;
      }
      // Prisma's own migrations create list columns nullable (an empty array is the default).
      const nullable = field.isList || !field.isRequired;
      shape.columns.add(`${model.name}.${field.name}: ${columnType(field)} ${nullable ? "null" : "not null"}`);
    }
  }
  for (const e of dmmf.datamodel.enums) shape.enums.add(`${e.name}: ${e.values.map((v) => v.name).join(",")}`);
  for (const index of dmmf.datamodel.indexes) {
    const kind = index.type === "id" ? "primary" : index.type === "unique" ? "unique" : "index";
    shape.indexes.add(`${index.model}(${index.fields.map((f) => f.name).join(",")}) ${kind}`);
  }
  return shape;
}

export async function actualShape(client: pg.Client | pg.Pool): Promise<SchemaShape> {
  const shape: SchemaShape = { columns: new Set(), enums: new Set(), indexes: new Set(), foreignKeys: new Set() };
  const columns = await client.query<{
    table_name: string;
    column_name: string;
    udt_name: string;
    is_nullable: string;
    data_type: string;
  }>(`
    SELECT table_name, column_name, udt_name, is_nullable, data_type FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`);
  for (const c of columns.rows) {
    const type = c.data_type === "ARRAY" ? `${c.udt_name.slice(1)}[]` : c.udt_name;
    shape.columns.add(`${c.table_name}.${c.column_name}: ${type} ${c.is_nullable === "YES" ? "null" : "not null"}`);
  }
  const enums = await client.query<{ name: string; values: string[] }>(`
    SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS values
    FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' GROUP BY t.typname`);
  for (const e of enums.rows) shape.enums.add(`${e.name}: ${e.values.join(",")}`);
  const indexes = await client.query<{ table: string; unique: boolean; primary: boolean; columns: string[] }>(`
    SELECT t.relname AS table, ix.indisunique AS unique, ix.indisprimary AS primary,
           array_agg(a.attname::text ORDER BY k.ord)::text[] AS columns
    FROM pg_index ix
    JOIN pg_class t ON t.oid = ix.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
    WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations'
    GROUP BY ix.indexrelid, t.relname, ix.indisunique, ix.indisprimary`);
  for (const i of indexes.rows) {
    shape.indexes.add(`${i.table}(${i.columns.join(",")}) ${i.primary ? "primary" : i.unique ? "unique" : "index"}`);
  }
  const fks = await client.query<{ table: string; columns: string[]; ref: string; ref_columns: string[] }>(`
    SELECT c.conrelid::regclass::text AS table, c.confrelid::regclass::text AS ref,
      (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum)::text[] AS columns,
      (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum)::text[] AS ref_columns
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
    WHERE c.contype = 'f' AND n.nspname = 'public'`);
  const unquote = (name: string) => name.replace(/^"|"$/g, "");
  for (const f of fks.rows) {
    shape.foreignKeys.add(`${unquote(f.table)}(${f.columns.join(",")}) -> ${unquote(f.ref)}(${f.ref_columns.join(",")})`);
  }
  return shape;
}

/** Human-readable differences; empty when the database matches the schema. */
export function diffShapes(expected: SchemaShape, actual: SchemaShape): string[] {
  const out: string[] = [];
  for (const part of ["columns", "enums", "indexes", "foreignKeys"] as const) {
    for (const item of expected[part]) if (!actual[part].has(item)) out.push(`missing in database ${part}: ${item}`);
    for (const item of actual[part]) if (!expected[part].has(item)) out.push(`not in schema.prisma ${part}: ${item}`);
  }
  return out.sort();
}
