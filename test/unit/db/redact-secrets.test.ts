/** DuckDB's errors may quote a PostgreSQL connection string: its password never travels on. */
import { describe, expect, test } from "bun:test";
import { openDb, redactSecrets } from "../../../src/db/duckdb.ts";

describe("redactSecrets", () => {
  test("every password=… form libpq accepts is hidden, the rest of the message kept", () => {
    expect(redactSecrets(`Unable to connect to Postgres at "host=h port=1 dbname='x' user='ferry' password='s\\'ec ret'": refused`)).toBe(
      `Unable to connect to Postgres at "host=h port=1 dbname='x' user='ferry' password=***": refused`,
    );
    expect(redactSecrets("a password=abc b PASSWORD = \"q w\" c")).toBe("a password=*** b PASSWORD = *** c");
    expect(redactSecrets("no secret here")).toBe("no secret here");
  });

  test("a DuckDB error quoting a password reaches the caller without it, nor as its cause", async () => {
    const db = await openDb(":memory:");
    try {
      const e = await db.query(`SELECT error('cannot reach host=h password=hunter2 now')`).catch((x) => x);
      expect(String(e.message)).toContain("password=***");
      expect(String(e.message)).not.toContain("hunter2");
      expect(e.cause).toBeUndefined();
    } finally {
      db.close();
    }
  });
});
