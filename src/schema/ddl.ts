/** SQL DDL derived from the record schemas' `sql` metadata: the table follows the schema. */
import * as v from "valibot";

type Entries = Record<string, v.GenericSchema>;

/** The strict object inside a `pipe(strictObject(...), title, description)`. */
function objectEntries(schema: v.GenericSchema): Entries {
  const s = schema as unknown as { entries?: Entries; pipe?: v.GenericSchema[] };
  if (s.entries) return s.entries;
  const inner = s.pipe?.[0] as unknown as { entries?: Entries } | undefined;
  if (!inner?.entries) throw new Error("schema is not an object schema");
  return inner.entries;
}

export interface Column {
  name: string;
  sql: string;
}

/** The columns of a record schema, in field order, with their SQL types. */
export function columnsOf(schema: v.GenericSchema): Column[] {
  return Object.entries(objectEntries(schema)).map(([name, entry]) => {
    const wrapped = (entry as unknown as { wrapped?: v.GenericSchema }).wrapped ?? entry;
    const sql = (v.getMetadata(wrapped as never) as { sql?: string }).sql;
    if (!sql) throw new Error(`field ${name} has no sql metadata`);
    return { name, sql };
  });
}

/**
 * `CREATE TABLE IF NOT EXISTS` for a record schema plus extra (lineage) columns; without its
 * primary key when `primaryKey` is false (the key column stays NOT NULL).
 */
export function createTableSql(table: string, schema: v.GenericSchema, extra: Column[] = [], opts: { primaryKey?: boolean } = {}): string {
  const sqlOf = (c: Column) => (opts.primaryKey === false ? c.sql.replace(/\s+PRIMARY KEY\b/, " NOT NULL") : c.sql);
  const cols = [...columnsOf(schema), ...extra].map((c) => `  ${quoteIdent(c.name)} ${sqlOf(c)}`);
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (\n${cols.join(",\n")}\n)`;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
