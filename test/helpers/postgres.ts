/**
 * The test PostgreSQL server (scripts/services/postgres: 127.0.0.1:55432, role ferry, password
 * ferry-test-secret; a DuckLake catalog for tests) and fresh databases on it. PG_PORT overrides the
 * port, as for the script. A test that kills its server uses one of its own (`ownPostgres(port)`):
 * the shared one serves other tests at the same time.
 */
import { resolve } from "node:path";
import { runCommand } from "./command.ts";

const SCRIPT = resolve(import.meta.dir, "../../scripts/services/postgres");
const USER = "ferry";
const PASSWORD = "ferry-test-secret";
const HOST = "127.0.0.1";

/** The test server on `port`, driven by scripts/services/postgres. */
export function ownPostgres(port: number) {
  const script = (...args: string[]) => runCommand(["bash", SCRIPT, ...args], { PG_PORT: String(port) });
  const url = (database = "ferry") => `postgres://${USER}:${PASSWORD}@${HOST}:${port}/${database}`;
  /** Runs SQL as the test role (psql; also statements that cannot run in a transaction); its rows, one a line, `|` between values. */
  const psql = (sql: string, database = "ferry") => script("psql", "-d", database, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-At", "-c", sql);
  return {
    port,
    url,
    /** libpq key=value pairs (DuckDB's `ATTACH '…' (TYPE postgres)`, `ducklake:postgres:…`). */
    connInfo: (database = "ferry") => `host=${HOST} port=${port} dbname=${database} user=${USER} password=${PASSWORD}`,
    psql,
    /** Starts the server (re-used when it already answers; after a kill, it recovers its data). */
    start: () => script("start").then(() => {}),
    /** Stops it if the script started it (fast shutdown). */
    stop: () => script("stop").then(() => {}),
    /** SIGKILLs the server and its backends at once (a crash); `start` brings it back. */
    kill: () => script("kill").then(() => {}),
    /** A new empty database named `<prefix>_<unique>`, owned by the test role; its URL. */
    freshDatabase: async (prefix: string) => {
      const clean = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, "_").slice(0, 40) || "db";
      const name = `${clean}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
      await psql(`CREATE DATABASE "${name}"`);
      return url(name);
    },
    /** Drops a database made by freshDatabase (its connections closed first). */
    dropDatabase: async (databaseUrl: string) => {
      const name = new URL(databaseUrl).pathname.slice(1);
      if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`not a database of freshDatabase: ${name}`);
      await psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** The shared test server (scripts/test starts it; re-used if up). */
export const sharedPostgres = ownPostgres(Number(process.env.PG_PORT ?? 55432));

/** postgres://ferry:ferry-test-secret@127.0.0.1:55432/ferry (or another database of it). */
export const postgresUrl = sharedPostgres.url;
export const postgresConnInfo = sharedPostgres.connInfo;
export const freshDatabase = sharedPostgres.freshDatabase;
export const dropDatabase = sharedPostgres.dropDatabase;
export const startPostgres = sharedPostgres.start;
/** Kills the shared server: only for a run that owns it (fault tests use ownPostgres(port)). */
export const killPostgres = sharedPostgres.kill;

/** libpq key=value pairs for a postgres:// URL of a test server. */
export function connInfoOf(databaseUrl: string): string {
  const u = new URL(databaseUrl);
  return `host=${u.hostname} port=${u.port} dbname=${u.pathname.slice(1)} user=${decodeURIComponent(u.username)} password=${decodeURIComponent(u.password)}`;
}
