/** The seam of @duckdb/node-api's text reading (src/db/node-api-text.ts): VARCHARs read back exactly as stored. */
import { expect, test } from "bun:test";
import { openDb } from "../../../src/db/duckdb.ts";
import pkg from "../../../node_modules/@duckdb/node-api/package.json" with { type: "json" };

test("the patched library is the pinned version", () => {
  expect(pkg.version).toBe("1.5.5-r.5");
});

test("a leading U+FEFF, NUL and other edge characters read back unchanged", async () => {
  const db = await openDb(":memory:");
  try {
    const values = ["\ufeffx", "\ufeff\ufeffx", "a\ufeff", "\u0000a", "😀", "\uffff"];
    const r = await db.query(`SELECT * FROM (VALUES ${values.map((_, i) => `($${i + 1})`).join(", ")}) t(v)`, values);
    expect(r.rows.map((row) => row[0])).toEqual(values);
  } finally {
    db.close();
  }
});
