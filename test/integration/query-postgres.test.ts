/**
 * `ferry run` with its lake in a PostgreSQL catalog, and `ferry query --catalog postgres://…` from
 * another data dir (another host, as far as the catalog can tell) while it writes: each query reads
 * `lake`, `orders` and the offsets at one snapshot; time travel; the locked setting refused (it
 * cannot hold with the postgres extension loaded) by both.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { order, postOrders, runFerry, startFerry } from "../helpers/ferry-process.ts";
import { dropDatabase, freshDatabase, startPostgres } from "../helpers/postgres.ts";
import { SERVER_HOOK_TIMEOUT } from "../helpers/servers.ts";

let tmp: string;
let catalog: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "ferry-query-postgres-"));
  await startPostgres();
  catalog = await freshDatabase("ferry_query");
}, SERVER_HOOK_TIMEOUT);
afterAll(async () => {
  await dropDatabase(catalog).catch(() => {});
  rmSync(tmp, { recursive: true, force: true });
}, SERVER_HOOK_TIMEOUT);

test("ferry query --catalog postgres://… from another data dir reads lake, orders and offsets at one snapshot while ferry run writes; --snapshot reads an earlier one", async () => {
  const runDir = join(tmp, "run");
  const readerDir = join(tmp, "reader"); // no ferry here: the catalog is all it has
  const ferry = await startFerry(["run", "--data-dir", runDir, "--port", "0", "--interval", "150ms", "--catalog", catalog, "--lake", join(tmp, "files")]);
  const query = async (sql: string, ...flags: string[]) => {
    const r = await runFerry(["query", "--data-dir", readerDir, "--catalog", catalog, "--format", "csv", ...flags, sql]);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    return r.out.trim().split("\n").slice(1);
  };
  // lake rows, orders, the run's offset, distinct ids in the lake, and the snapshot: one query, one snapshot.
  const snap = `select (select count(*) from lake) || ' ' || (select count(*) from orders) || ' ' || (select max(next_offset) from ferry_offsets."orders/0") || ' ' || (select count(distinct order_id) from lake)`;
  let posting = true;
  let posted = 0;
  const writer = (async () => {
    for (let i = 0; posting; i++) {
      // Each request: a new order and a new version of an earlier one (orders < lake rows).
      const res = await postOrders(ferry.url, [order(`pg-${i}`), order(`pg-${Math.floor(i / 2)}`, { quantity: 1 + (i % 5) })]);
      expect(res.status).toBe(202);
      posted += 2;
      await Bun.sleep(15);
    }
  })();
  const seen: string[] = [];
  try {
    await Bun.sleep(800);
    const deadline = Date.now() + 6000;
    while (Date.now() < deadline) {
      const [row] = await query(snap);
      const [lake, orders, next, ids] = row!.split(" ").map(Number) as [number, number, number, number];
      seen.push(row!);
      // At one snapshot: the offset is just past the lake's rows (every sequence rolled is in it), and orders has each id once.
      if (lake > 0) expect({ lake, next }).toEqual({ lake, next: lake });
      expect(orders).toBe(ids);
    }
  } finally {
    posting = false;
    await writer;
    expect(await ferry.stop()).toBe(0);
  }
  console.log(`postgres catalog: ${posted} orders posted; ${seen.length} queries while writing, the last ${seen.at(-1)}`);
  const moving = new Set(seen.map((r) => r.split(" ")[0]));
  expect(moving.size).toBeGreaterThanOrEqual(2); // the lake grew while read
  const [last] = await query(snap);
  // Every order once in the lake (sequences 0 … posted-1), each id's latest in orders.
  expect(last).toBe(`${posted} ${posted / 2} ${posted} ${posted / 2}`);

  // Time travel: an earlier snapshot has fewer rows, and `orders` of that lake.
  const [mid] = await query("select snapshot_id from ducklake_snapshots('ferry_lake') order by snapshot_id limit 1 offset (select count(*) / 2 from ducklake_snapshots('ferry_lake'))");
  const [then] = await query(snap, "--snapshot", mid!);
  const [thenLake, thenOrders, thenNext, thenIds] = then!.split(" ").map(Number) as [number, number, number, number];
  expect(thenLake).toBeLessThan(posted);
  expect(thenNext).toBe(thenLake);
  expect(thenOrders).toBe(thenIds);
}, 60_000);

test("the locked query setting is refused with a PostgreSQL catalog, saying why, by ferry query and by ferry run", async () => {
  const q = await runFerry(["query", "--data-dir", join(tmp, "reader-locked"), "--catalog", catalog, "--access", "locked", "select count(*) from lake"]);
  expect(q.code).toBe(2);
  expect(q.err).toContain("ferry: --access locked: the locked query setting cannot hold with a PostgreSQL catalog, SQL can connect to any PostgreSQL server (postgres_scan)");
  const r = await runFerry(["run", "--data-dir", join(tmp, "run-locked"), "--port", "0", "--catalog", catalog, "--query-access", "locked"]);
  expect(r.code).toBe(2);
  expect(r.err).toContain("ferry: --query-access locked: the locked query setting cannot hold with a PostgreSQL catalog");
}, 30_000);
