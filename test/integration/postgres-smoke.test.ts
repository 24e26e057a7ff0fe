/**
 * PostgreSQL as a DuckLake catalog, with the extensions embedded in ferry (ducklake, postgres):
 * scripts/services/postgres's server is re-used, a table written in one transaction by one DuckDB
 * instance is read by another (another host, as far as the catalog can tell), and a server killed
 * with SIGKILL, even during commits, comes back with every acknowledged commit, all or nothing.
 * The kills hit a server of this test's own (another port): the shared one serves other tests.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadExtension, openDb, sqlString, type Db } from "../../src/db/duckdb.ts";
import { connInfoOf, ownPostgres, sharedPostgres } from "../helpers/postgres.ts";
import { SERVER_HOOK_TIMEOUT } from "../helpers/servers.ts";

const own = ownPostgres(Number(process.env.FERRY_TEST_PG_FAULT_PORT ?? 55439));
let tmp: string;
const opened: Db[] = [];
const made: { server: ReturnType<typeof ownPostgres>; url: string }[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "ferry-postgres-smoke-"));
  await Promise.all([sharedPostgres.start(), own.start()]);
}, SERVER_HOOK_TIMEOUT);
afterAll(async () => {
  for (const db of opened) db.close();
  for (const { server, url } of made) await server.dropDatabase(url).catch(() => {});
  await own.stop();
  rmSync(tmp, { recursive: true, force: true });
}, SERVER_HOOK_TIMEOUT);

async function database(server: ReturnType<typeof ownPostgres>, prefix: string) {
  const url = await server.freshDatabase(prefix);
  made.push({ server, url });
  return url;
}

/** A DuckDB instance of its own with the lake (catalog in PostgreSQL at `url`) attached as `l`. */
async function lakeClient(url: string, dataPath: string): Promise<Db> {
  const db = await openDb(":memory:");
  opened.push(db);
  await loadExtension(db, "postgres");
  await loadExtension(db, "ducklake");
  await db.exec(`ATTACH ${sqlString(`ducklake:postgres:${connInfoOf(url)}`)} AS l (DATA_PATH ${sqlString(dataPath)})`);
  return db;
}

const close = (db: Db) => {
  db.close();
  opened.splice(opened.indexOf(db), 1);
};

test("start re-uses the running server: a second start answers at once", async () => {
  const began = performance.now();
  await sharedPostgres.start();
  expect(performance.now() - began).toBeLessThan(5_000);
  expect(await sharedPostgres.psql("SELECT current_user, current_database()")).toBe("ferry|ferry\n");
});

test("a password is required over TCP: a wrong one is refused", async () => {
  const db = await openDb(":memory:");
  opened.push(db);
  await loadExtension(db, "postgres");
  const wrong = sharedPostgres.connInfo().replace("ferry-test-secret", "not-the-password");
  await expect(db.exec(`ATTACH ${sqlString(wrong)} AS pg (TYPE postgres)`)).rejects.toThrow(/password authentication failed/);
});

test("DuckLake on PostgreSQL: two tables written in one transaction by one instance are read by another", async () => {
  const url = await database(sharedPostgres, "smoke");
  const data = join(tmp, "smoke-data") + "/";
  const a = await lakeClient(url, data);
  await a.exec(`CREATE TABLE l.orders (id VARCHAR NOT NULL, amount DECIMAL(12, 2))`);
  await a.exec(`CREATE TABLE l.offsets (part INTEGER, next BIGINT)`);
  await a.transaction(async () => {
    await a.exec(`INSERT INTO l.orders SELECT 'o' || i, i / 100 FROM range(1000) r(i)`);
    await a.exec(`INSERT INTO l.offsets VALUES (0, 1000)`);
  });
  const snapshots = await a.query(`SELECT count(*)::INTEGER FROM ducklake_snapshots('l')`);
  const b = await lakeClient(url, data);
  expect((await b.query(`SELECT count(*)::INTEGER, sum(amount)::VARCHAR, min(id), max(id) FROM l.orders`)).rows).toEqual([[1000, "4995.00", "o0", "o999"]]);
  expect((await b.query(`SELECT part, next::INTEGER FROM l.offsets`)).rows).toEqual([[0, 1000]]);
  // The catalog is in PostgreSQL, the rows in Parquet files of the data path.
  expect(Number(await sharedPostgres.psql(`SELECT count(*) FROM ducklake_table`, new URL(url).pathname.slice(1)))).toBe(2);
  expect(readdirSync(data, { recursive: true }).some((f) => String(f).endsWith(".parquet"))).toBe(true);
  // Each statement outside a transaction, and the one transaction of two tables: one snapshot each.
  expect(snapshots.rows[0]![0]).toBe(4); // the empty lake, two CREATE TABLEs, the transaction
});

test("killed with SIGKILL and started again, the server has the same lake", async () => {
  const url = await database(own, "kill");
  const data = join(tmp, "kill-data") + "/";
  const a = await lakeClient(url, data);
  await a.exec(`CREATE TABLE l.t AS SELECT i AS k, 'v' || i AS v FROM range(500) r(i)`);
  close(a);
  await own.kill();
  expect(await fetchFails(own.port)).toBe(true);
  await own.start();
  const b = await lakeClient(url, data);
  expect((await b.query(`SELECT count(*)::INTEGER, max(v) FROM l.t`)).rows).toEqual([[500, "v99"]]);
  await b.exec(`INSERT INTO l.t VALUES (500, 'after')`);
  expect((await b.query(`SELECT count(*)::INTEGER FROM l.t`)).rows).toEqual([[501]]);
}, 60_000);

test("killed during commits: every acknowledged commit is there after the restart, and each is all or nothing", async () => {
  const url = await database(own, "commits");
  const data = join(tmp, "commit-data") + "/";
  const setup = await lakeClient(url, data);
  await setup.exec(`CREATE TABLE l.a (k BIGINT)`);
  await setup.exec(`CREATE TABLE l.b (k BIGINT)`);
  close(setup);
  const rows = 20_000;
  let acknowledged = 0;
  const rounds = Number(process.env.FERRY_PG_KILL_ROUNDS ?? 4);
  for (let round = 0; round < rounds; round++) {
    const db = await lakeClient(url, data);
    // Commits in a loop until the server dies under one of them.
    const writer = (async () => {
      for (;;) {
        await db.transaction(async () => {
          await db.exec(`INSERT INTO l.a SELECT i FROM range(${rows}) r(i)`);
          await db.exec(`INSERT INTO l.b SELECT i FROM range(${rows}) r(i)`);
        });
        acknowledged++;
      }
    })().catch((e: unknown) => e); // ends with the server's death (handled at once: it rejects while the kill runs)
    await Bun.sleep(300 + round * 170);
    await own.kill();
    expect(String(await writer)).toMatch(/Postgres|connection|server|commit/i);
    close(db);
    await own.start();
    const check = await lakeClient(url, data);
    const [a, b] = (await check.query(`SELECT (SELECT count(*) FROM l.a)::INTEGER, (SELECT count(*) FROM l.b)::INTEGER`)).rows[0] as [number, number];
    close(check);
    expect(a).toBe(b); // one transaction: both tables or neither
    expect(a % rows).toBe(0);
    // Every acknowledged commit survived; at most one more (committed, its answer lost to the kill).
    expect(a / rows).toBeGreaterThanOrEqual(acknowledged);
    expect(a / rows).toBeLessThanOrEqual(acknowledged + 1);
    acknowledged = a / rows;
  }
  expect(acknowledged).toBeGreaterThan(0);
}, 180_000);

/** True when nothing answers on the port (the kill really stopped the server). */
async function fetchFails(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    socket.end();
    return false;
  } catch {
    return true;
  }
}
