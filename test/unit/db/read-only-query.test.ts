/** A user's SQL runs as a read: writes and state changes refused before anything runs, a time limit, a row limit. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Db, openDb, sqlString, withDriverConnection } from "../../../src/db/duckdb.ts";
import { isReadStatement, QueryRefusedError, QueryTimeoutError, QueryTooLargeError, readOnlyQuery, statementTypeName } from "../../../src/db/read-only-query.ts";

const FUZZ_RUNS = Number(process.env.FERRY_FUZZ_RUNS ?? 150);
const dir = mkdtempSync(join(tmpdir(), "ferry-readonly-"));
const scratchDir = mkdtempSync(join(tmpdir(), "ferry-readonly-scratch-"));
let db: Db;
let conn: Db;

/** What a write or a state change would alter: the rows, the catalog, settings, attached databases, files, sequences. */
async function fingerprint(): Promise<string> {
  const parts = await Promise.all([
    db.query("SELECT order_id, quantity FROM orders ORDER BY 1"),
    db.query("SELECT database_name, schema_name, table_name FROM duckdb_tables() ORDER BY ALL"),
    db.query("SELECT database_name FROM duckdb_databases() ORDER BY 1"),
    db.query("SELECT sequence_name, last_value FROM duckdb_sequences() ORDER BY 1"),
    conn.query("SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'memory_limit', 'enable_external_access', 'search_path', 'enable_progress_bar') ORDER BY 1"),
    db.query(`SELECT count(*) FROM glob(${sqlString(join(dir, "*"))})`),
  ]);
  return JSON.stringify(parts.map((p) => p.rows));
}

beforeAll(async () => {
  db = await openDb(join(dir, "ferry.duckdb"));
  await db.exec("CREATE TABLE orders (order_id VARCHAR PRIMARY KEY, quantity INTEGER)");
  await db.exec("INSERT INTO orders VALUES ('o-1', 1), ('o-2', 2)");
  await db.exec("CREATE SEQUENCE seq");
  conn = await db.connect();
});
afterAll(() => db.close());

/** After a query, the connection holds no transaction: BEGIN works (it fails inside one). */
async function expectNoTransactionOpen(c: Db) {
  await c.exec("BEGIN");
  await c.exec("ROLLBACK");
}

const WRITES: [string, string][] = [
  ["INSERT INTO orders VALUES ('x', 9)", "INSERT"],
  ["UPDATE orders SET quantity = 0", "UPDATE"],
  ["DELETE FROM orders", "DELETE"],
  ["MERGE INTO orders USING (SELECT 'o-1' AS id) s ON s.id = orders.order_id WHEN MATCHED THEN DELETE", "MERGE_INTO"],
  ["CREATE TABLE t (x INT)", "CREATE"],
  ["CREATE TEMP TABLE t AS SELECT 1", "CREATE"],
  ["CREATE VIEW v AS SELECT 1", "CREATE"],
  ["CREATE MACRO m(x) AS x", "CREATE"],
  ["CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", "CREATE"],
  ["WITH x AS (SELECT 1) DELETE FROM orders", "DELETE"],
  ["PRAGMA table_info('orders')", "SELECT"],
  ["PIVOT orders ON quantity", "CREATE"],
  ["DROP TABLE orders", "DROP"],
  ["ALTER TABLE orders ADD COLUMN y INT", "ALTER"],
  ["SET threads = 7", "SET"],
  ["RESET threads", "SET"],
  ["SET enable_external_access = false", "SET"],
  ["USE memory", "SET"],
  ["SET VARIABLE v = 1", "SET"],
  ["PRAGMA enable_profiling", "PRAGMA"],
  ["PRAGMA threads = 3", "SET"],
  ["ATTACH ':memory:' AS other", "ATTACH"],
  ["DETACH other", "DETACH"],
  [`COPY orders TO ${sqlString(join(dir, "stolen.csv"))}`, "COPY"],
  [`COPY (SELECT 1) TO ${sqlString(join(dir, "stolen.parquet"))} (FORMAT parquet)`, "COPY"],
  [`EXPORT DATABASE ${sqlString(join(dir, "export"))}`, "EXPORT"],
  ["INSTALL httpfs", "LOAD"],
  ["LOAD httpfs", "LOAD"],
  ["UPDATE EXTENSIONS", "UPDATE_EXTENSIONS"],
  ["CALL checkpoint()", "CALL"],
  ["CHECKPOINT", "CALL"],
  ["FORCE CHECKPOINT", "CALL"],
  ["VACUUM", "VACUUM"],
  ["ANALYZE", "VACUUM"],
  ["BEGIN TRANSACTION", "TRANSACTION"],
  ["COMMIT", "TRANSACTION"],
  ["ROLLBACK", "TRANSACTION"],
  ["PREPARE p AS SELECT 1", "PREPARE"],
  ["EXPLAIN DELETE FROM orders", "EXPLAIN"],
  ["EXPLAIN ANALYZE DELETE FROM orders", "EXPLAIN"],
  ["SELECT 1; EXPLAIN DELETE FROM orders", "EXPLAIN"],
];
const REFUSED = "refused: queries may only read (SELECT, FROM, WITH, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN), and this SQL holds another kind of statement";

describe("refused before anything runs (or is even bound: preparing EXPORT DATABASE creates its folder)", () => {
  for (const [sql] of WRITES) {
    test(sql, async () => {
      const before = await fingerprint();
      const e = await readOnlyQuery(conn, sql, { timeoutMs: 5000 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(QueryRefusedError);
      expect((e as Error).message).toStartWith(REFUSED);
      expect(await fingerprint()).toBe(before);
      expect(existsSync(join(dir, "export"))).toBe(false);
      await expectNoTransactionOpen(conn);
    });
  }

  test("the second gate: each of those, as DuckDB prepares it, has a type that is not a read (in a scratch database)", async () => {
    const scratch = await openDb(":memory:");
    try {
      await scratch.exec("CREATE TABLE orders (order_id VARCHAR PRIMARY KEY, quantity INTEGER)");
      const types = await withDriverConnection(scratch, async (c) => {
        const out: string[] = [];
        for (const [sql] of WRITES.filter(([, t]) => t !== "EXPLAIN")) {
          const ex = await c.extractStatements(sql.replace(join(dir, ""), join(scratchDir, "")));
          const p = await ex.prepare(ex.count - 1).catch(() => undefined);
          out.push(p === undefined ? "unpreparable" : `${isReadStatement(p.statementType) ? "read" : "not a read"}: ${statementTypeName(p.statementType)}`);
          p?.destroySync();
        }
        return out;
      });
      expect(types.filter((t) => t.startsWith("read"))).toEqual(["read: SELECT"]); // PRAGMA table_info is a table query: refused by the first gate only
    } finally {
      scratch.close();
    }
  });

  test("a write after reads: nothing runs, and the refusal names the statement", async () => {
    const before = await fingerprint();
    const e = await readOnlyQuery(conn, "SELECT 1; SELECT nextval('seq'); DELETE FROM orders", { timeoutMs: 5000 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(QueryRefusedError);
    expect((e as Error).message).toStartWith(REFUSED);
    expect(await fingerprint()).toBe(before);
  });

  test("no statement at all", async () => {
    expect(readOnlyQuery(conn, " ; -- nothing\n", { timeoutMs: 5000 })).rejects.toBeInstanceOf(QueryRefusedError);
  });
});

describe("reads that would write fail inside the read-only transaction", () => {
  for (const sql of ["SELECT nextval('seq')", "SELECT * FROM force_checkpoint()"]) {
    test(sql, async () => {
      const before = await fingerprint();
      await expect(readOnlyQuery(conn, sql, { timeoutMs: 5000 })).rejects.toThrow(/^duckdb: TransactionContext Error/);
      expect(await fingerprint()).toBe(before);
      await expectNoTransactionOpen(conn);
    });
  }
});

describe("reads run", () => {
  const cases: [string, unknown][] = [
    ["SELECT count(*)::INT AS n FROM orders", [[2]]],
    ["FROM orders SELECT order_id ORDER BY 1", [["o-1"], ["o-2"]]],
    ["WITH x AS (SELECT 41 AS a) SELECT a + 1 FROM x", [[42]]],
    ["VALUES (1), (2)", [[1], [2]]],
    ["TABLE orders ORDER BY 1 LIMIT 1", [["o-1", 1]]],
    ["SELECT column_name FROM (DESCRIBE orders) ORDER BY 1", [["order_id"], ["quantity"]]],
    ["SELECT count(*)::INT FROM (SHOW TABLES)", [[1]]],
    ["SELECT count(*)::INT FROM (SUMMARIZE orders)", [[2]]],
    ["SELECT name FROM pragma_table_info('orders') ORDER BY 1", [["order_id"], ["quantity"]]],
    ["SELECT 1; SELECT 2 AS last", [[2]]],
  ];
  for (const [sql, rows] of cases) {
    test(sql, async () => {
      expect((await readOnlyQuery(conn, sql, { timeoutMs: 5000 })).rows).toEqual(rows as never);
      await expectNoTransactionOpen(conn);
    });
  }
  test("EXPLAIN", async () => {
    expect((await readOnlyQuery(conn, "EXPLAIN SELECT * FROM orders", { timeoutMs: 5000 })).columns).toEqual(["explain_key", "explain_value"]);
    expect((await readOnlyQuery(conn, "EXPLAIN ANALYZE SELECT count(*) FROM orders", { timeoutMs: 5000 })).rows.length).toBe(1);
  });
});

describe("limits", () => {
  test("a query past its time limit is interrupted, says so, and leaves the connection usable", async () => {
    const t0 = performance.now();
    const e = await readOnlyQuery(conn, "SELECT count(*) FROM range(1000000000) a, range(1000000000) b", { timeoutMs: 300 }).catch((x: unknown) => x);
    const ms = performance.now() - t0;
    expect(e).toBeInstanceOf(QueryTimeoutError);
    expect((e as Error).message).toStartWith("the query ran longer than its time limit of 300ms and was stopped");
    expect(ms).toBeLessThan(3000);
    await expectNoTransactionOpen(conn);
    expect((await readOnlyQuery(conn, "SELECT 42", { timeoutMs: 5000 })).rows).toEqual([[42]]);
  });

  test("a limit shorter than the statements' preparation still holds (a later statement is not run)", async () => {
    const e = await readOnlyQuery(conn, "SELECT count(*) FROM range(1000000000) a, range(1000000000) b; SELECT 1", { timeoutMs: 200 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(QueryTimeoutError);
  });

  test("more rows than the bound: refused, without reading them all", async () => {
    const t0 = performance.now();
    const e = await readOnlyQuery(conn, "SELECT * FROM range(1000000000000)", { timeoutMs: 10_000, maxRows: 1000 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(QueryTooLargeError);
    expect((e as Error).message).toStartWith("the query answers more than 1000 rows");
    expect(performance.now() - t0).toBeLessThan(2000);
    expect((await readOnlyQuery(conn, "SELECT * FROM range(1000)", { timeoutMs: 5000, maxRows: 1000 })).rows.length).toBe(1000);
  });
});

describe("hostile SQL (property)", () => {
  const reads = ["SELECT 1", "FROM orders", "SELECT count(*) FROM orders", "WITH a AS (SELECT 2) FROM a", "DESCRIBE orders", "VALUES (3)", "SUMMARIZE orders", "SELECT * FROM read_text('/etc/hostname')"];
  const writes = WRITES.map(([sql]) => sql);
  /** Comments, odd whitespace and case that a text filter could be fooled by; DuckDB's parser is not. */
  const disguise = (sql: string, how: number) =>
    [
      sql,
      `/* SELECT */ ${sql}`,
      `-- select\n${sql}`,
      `\n\t  ${sql.toLowerCase()}  \n`,
      sql.replace(/ /g, "\n"),
      `${sql} /* ; SELECT 1 */`,
      sql.replace(/^(\w)/, (c) => c.toLowerCase()),
    ][how % 7]!;
  test("a script is run only if every statement in it is a read; otherwise nothing of it runs", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.nat()), { minLength: 1, maxLength: 4 }),
        async (parts) => {
          const statements = parts.map(([write, i, how]) => disguise(write ? writes[i % writes.length]! : reads[i % reads.length]!, how));
          const script = statements.join(";\n");
          const before = await fingerprint();
          const outcome = await readOnlyQuery(conn, script, { timeoutMs: 5000 }).then(
            () => "ran",
            (e: unknown) => (e instanceof QueryRefusedError ? "refused" : `failed: ${String(e)}`),
          );
          expect(outcome).toBe(parts.some(([write]) => write) ? "refused" : "ran");
          expect(await fingerprint()).toBe(before);
          await expectNoTransactionOpen(conn);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  }, 60_000);
});
