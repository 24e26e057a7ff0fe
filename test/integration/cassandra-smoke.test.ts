/**
 * cassandra-driver under Bun against the real Cassandra 5.0 (scripts/services/cassandra):
 * a keyspace and a table are created, rows written with prepared statements and read back paged.
 */
import { afterAll, expect, test } from "bun:test";
import { types } from "cassandra-driver";
import { testCassandraClient } from "../helpers/cassandra.ts";
import { SERVER_HOOK_TIMEOUT, uniqueName } from "../helpers/servers.ts";

const keyspace = uniqueName("smoke").replaceAll("-", "_");
const client = testCassandraClient();

afterAll(async () => {
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
  await client.shutdown();
}, SERVER_HOOK_TIMEOUT);

test("create keyspace and table, write and read rows", async () => {
  await client.connect();
  const version = await client.execute("select release_version from system.local");
  expect(String(version.first().get("release_version"))).toStartWith("5.0");
  await client.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
  await client.execute(`CREATE TABLE ${keyspace}.orders (order_id text PRIMARY KEY, product text, quantity int, price decimal)`);
  const insert = `INSERT INTO ${keyspace}.orders (order_id, product, quantity, price) VALUES (?, ?, ?, ?)`;
  const rows = Array.from({ length: 250 }, (_, i) => [`o${i}`, `p${i % 7}`, i + 1, types.BigDecimal.fromString(`${i}.25`)]);
  for (let i = 0; i < rows.length; i += 50) {
    await Promise.all(rows.slice(i, i + 50).map((r) => client.execute(insert, r, { prepare: true })));
  }
  const seen = new Map<string, { product: string; quantity: number; price: string }>();
  let pageState: string | undefined;
  let pages = 0;
  do {
    const page = await client.execute(`SELECT * FROM ${keyspace}.orders`, [], { prepare: true, fetchSize: 100, pageState });
    for (const row of page.rows) seen.set(row.get("order_id"), { product: row.get("product"), quantity: row.get("quantity"), price: row.get("price").toString() });
    pageState = page.pageState ?? undefined;
    pages++;
  } while (pageState);
  expect(pages).toBeGreaterThanOrEqual(3);
  expect(seen.size).toBe(rows.length);
  for (const [id, product, quantity, price] of rows) {
    expect(seen.get(id as string)).toEqual({ product: product as string, quantity: quantity as number, price: String(price) });
  }
  expect(client.getState().getConnectedHosts()[0]?.getCassandraVersion().slice(0, 2)).toEqual([5, 0]);
}, 60_000);
