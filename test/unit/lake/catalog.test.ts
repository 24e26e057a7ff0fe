/** --catalog as a user gives it: the DuckDB-file default, sqlite:PATH, postgres://… — the password never in what is shown. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { catalogOf, IDLE_IN_TRANSACTION_MS } from "../../../src/lake/catalog.ts";
import { ConfigError } from "../../../src/errors.ts";

describe("catalogOf", () => {
  test("default: a DuckDB file in the data dir; a plain path is a DuckDB file too", () => {
    expect(catalogOf({ dataDir: "/d" })).toMatchObject({ kind: "duckdb", target: "ducklake:/d/lake.ducklake", description: "/d/lake.ducklake" });
    expect(catalogOf({ dataDir: "/d", catalog: "rel/c.ducklake" }).target).toBe(`ducklake:${resolve("rel/c.ducklake")}`);
  });

  test("sqlite:PATH, made absolute; an empty path refused", () => {
    expect(catalogOf({ dataDir: "/d", catalog: "sqlite:/x/c.sqlite" })).toMatchObject({ kind: "sqlite", target: "ducklake:sqlite:/x/c.sqlite" });
    expect(catalogOf({ dataDir: "/d", catalog: "sqlite:c.sqlite" }).target).toBe(`ducklake:sqlite:${resolve("c.sqlite")}`);
    expect(() => catalogOf({ dataDir: "/d", catalog: "sqlite:" })).toThrow(ConfigError);
  });

  test("postgres://: libpq keywords, TLS parameters passed on, an idle-transaction limit, the password only in the target", () => {
    const c = catalogOf({ dataDir: "/d", catalog: "postgres://fe%20rry:s3cr%27et@db.example:5433/lake?sslmode=verify-full&sslrootcert=/ca.pem" });
    expect(c.kind).toBe("postgres");
    expect(c.description).toBe("postgres://fe rry@db.example:5433/lake");
    expect(c.target).toBe(
      `ducklake:postgres:host='db.example' port='5433' dbname='lake' user='fe rry' sslmode='verify-full' sslrootcert='/ca.pem' options='-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_MS}' password='s3cr\\'et'`,
    );
    expect(c.secret).toBe("s3cr'et");
    // the user's own server options win
    expect(catalogOf({ dataDir: "/d", catalog: "postgres://u@h/db?options=-c%20statement_timeout%3D5s" }).target).toBe("ducklake:postgres:host='h' dbname='db' user='u' options='-c statement_timeout=5s'");
  });

  test("the password from a file (never twice, never as a query parameter, only for PostgreSQL)", () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-catalog-"));
    const file = join(dir, "pw");
    writeFileSync(file, "from-file\n");
    expect(catalogOf({ dataDir: "/d", catalog: "postgres://u@h/db", catalogPasswordFile: file }).target).toEndWith("password='from-file'");
    expect(() => catalogOf({ dataDir: "/d", catalog: "postgres://u:p@h/db", catalogPasswordFile: file })).toThrow("give the catalog's password once");
    expect(() => catalogOf({ dataDir: "/d", catalog: "postgres://u@h/db?password=x" })).toThrow("give the password in the URL's user part");
    expect(() => catalogOf({ dataDir: "/d", catalogPasswordFile: file })).toThrow("for a PostgreSQL catalog");
  });

  test("other schemes are refused without echoing a password", () => {
    const e = (() => {
      try {
        catalogOf({ dataDir: "/d", catalog: "mysql://u:hunter2@h/db" });
      } catch (x) {
        return x as Error;
      }
    })();
    expect(e).toBeInstanceOf(ConfigError);
    expect(e!.message).not.toContain("hunter2");
  });
});
