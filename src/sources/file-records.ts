/**
 * Records from a CSV, NDJSON or Parquet file, read by DuckDB (format from the file name), as JSON
 * objects in file order: timestamps become RFC 3339 (UTC), decimals numbers, and NULL fields are
 * left out (an optional field is absent, not null). Read in chunks, so big files stay out of memory.
 */
import { type Db, openDb, sqlString } from "../db/duckdb.ts";
import { quoteIdent } from "../schema/ddl.ts";
import { FerryError } from "../errors.ts";

const CHUNK = 10_000;

function columnSql(name: string, type: string): string {
  const c = quoteIdent(name);
  if (type === "TIMESTAMP WITH TIME ZONE") return `strftime(${c} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ')`;
  if (type.startsWith("TIMESTAMP")) return `strftime(${c}, '%Y-%m-%dT%H:%M:%S.%fZ')`;
  if (type.startsWith("DECIMAL")) return `${c}::DOUBLE`;
  if (type === "DATE") return `strftime(${c}, '%Y-%m-%d')`;
  return c;
}

/** Opens a record file; `chunks()` yields its rows as objects, CHUNK at a time. */
export async function openRecordFile(path: string) {
  const db: Db = await openDb(":memory:");
  const source = `SELECT * FROM ${sqlString(path)}`;
  let columns: { name: string; type: string }[];
  try {
    const d = await db.query(`DESCRIBE ${source}`);
    columns = d.rows.map((r) => ({ name: String(r[0]), type: String(r[1]) }));
  } catch (e) {
    db.close();
    throw new FerryError(`cannot read ${path} (CSV, NDJSON or Parquet, by its name): ${(e as Error).message.replace(/^.*?: /, "")}`, { cause: e });
  }
  const object = `json_object(${columns.map((c) => `${sqlString(c.name)}, ${columnSql(c.name, c.type)}`).join(", ")})::VARCHAR`;
  return {
    async *chunks(): AsyncGenerator<Record<string, unknown>[]> {
      for (let offset = 0; ; offset += CHUNK) {
        const r = await db.query(`SELECT ${object} FROM (${source}) LIMIT ${CHUNK} OFFSET ${offset}`);
        if (r.rows.length === 0) return;
        yield r.rows.map(([json]) => {
          const o = JSON.parse(String(json)) as Record<string, unknown>;
          for (const k of Object.keys(o)) if (o[k] === null) delete o[k];
          return o;
        });
        if (r.rows.length < CHUNK) return;
      }
    },
    close: () => db.close(),
  };
}
