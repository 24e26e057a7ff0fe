/**
 * How ferry addresses an S3 bucket, against the real S3Proxy (scripts/services/s3proxy, the shared
 * one on its default port: re-used if up, never stopped): with only an IP-address endpoint (as
 * AWS_ENDPOINT_URL gives it) both S3 clients, Bun's and DuckDB's httpfs (`ferry query`), go
 * path-style on their own; addressed the wrong way, a listing's error says what the endpoint
 * answered and which setting to change; virtual-host style at an IP address is refused up front.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb } from "../../../src/db/duckdb.ts";
import { S3AnswerError } from "../../../src/errors.ts";
import { openObjectStore } from "../../../src/platform/s3.ts";
import { attachCatalog, catalogOf, LAKE_DB } from "../../../src/lake/catalog.ts";
import { s3AccessOf } from "../../../src/lake/data-path.ts";
import { createLakeTables } from "../../../src/lake/tables.ts";
import { runFerry } from "../../helpers/ferry-process.ts";
import { ownS3 } from "../../helpers/s3.ts";
import { SERVER_HOOK_TIMEOUT, uniqueName } from "../../helpers/servers.ts";

/** A server of this file's own (another port), stopped at the end like every test's S3. */
const s3 = ownS3(Number(process.env.FERRY_TEST_S3_ADDRESSING_PORT ?? 19915));
const port = new URL(s3.endpoint).port;
const work = mkdtempSync(join(tmpdir(), "ferry-s3-addressing-"));
beforeAll(() => s3.start(), SERVER_HOOK_TIMEOUT);
afterAll(async () => {
  await s3.stop();
  rmSync(work, { recursive: true, force: true });
}, SERVER_HOOK_TIMEOUT);

/** The settings as the config gives them: the standard AWS variables, nothing about the style unless `s3PathStyle`. */
const access = (s3Endpoint: string, s3PathStyle?: boolean) => s3AccessOf({ s3Endpoint, s3Region: "us-east-1", s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey, s3PathStyle })!;
const storeAt = (endpoint: string, pathStyle?: boolean, bucket = s3.bucket) => openObjectStore({ bucket, ...access(endpoint, pathStyle) });
const caught = (p: Promise<unknown>) => p.then(() => { throw new Error("expected a failure"); }, (e: unknown) => e);

describe("automatic addressing", () => {
  for (const endpoint of [s3.endpoint, `http://localhost:${port}`]) {
    test(`only an endpoint (${endpoint}): puts, lists, gets and deletes`, async () => {
      expect(access(endpoint).pathStyle).toBe(true);
      const store = storeAt(endpoint);
      const prefix = uniqueName("addressing");
      await store.put(`${prefix}/a.txt`, "hello");
      const file = join(work, `${prefix}.bin`);
      writeFileSync(file, new Uint8Array(1000).map((_, i) => i % 251));
      await store.putFile(`${prefix}/b.bin`, file);
      expect((await store.list(`${prefix}/`)).map((o) => [o.key, o.size])).toEqual([[`${prefix}/a.txt`, 5], [`${prefix}/b.bin`, 1000]]);
      expect(new TextDecoder().decode(await store.get(`${prefix}/a.txt`))).toBe("hello");
      await store.delete(`${prefix}/a.txt`);
      expect((await store.list(`${prefix}/`)).map((o) => o.key)).toEqual([`${prefix}/b.bin`]);
    }, 30_000);
  }

  test("ferry query reads an S3 lake through DuckDB's httpfs with only AWS_ENDPOINT_URL; forced virtual-host style there is refused, naming the setting", async () => {
    const prefix = uniqueName("lake");
    const dataDir = join(work, prefix);
    // The data dir's catalog, its lake's files in the bucket: three orders in a Parquet file there (no inlining).
    mkdirSync(dataDir);
    const db = await openDb(":memory:");
    try {
      await attachCatalog(db, catalogOf({ dataDir }), { url: `s3://${s3.bucket}/${prefix}/`, s3: access(s3.endpoint) });
      await createLakeTables(db, "orders");
      await db.exec(`CALL ${LAKE_DB}.set_option('data_inlining_row_limit', 0, table_name => 'lake')`);
      await db.exec(
        `INSERT INTO ${LAKE_DB}.main.lake BY NAME SELECT 'o-' || n AS order_id, 'p' AS product, n::INTEGER AS quantity, 1 AS price, TIMESTAMPTZ '2026-01-01 00:00:00+00' AS ordered_at, ` +
          `'orders' AS kafka_topic, 0 AS kafka_partition, n AS kafka_offset, now() AS ingested_at, DATE '2026-01-01' AS date FROM range(3) t(n)`,
      );
    } finally {
      db.close();
    }
    expect((await storeAt(s3.endpoint).list(`${prefix}/`)).filter((o) => o.key.endsWith(".parquet")).length).toBe(1);
    const env = { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_ENDPOINT_URL: s3.endpoint };
    const q = await runFerry(["query", "--data-dir", dataDir, "--format", "json", "select count(*)::INT AS n, sum(quantity)::INT AS s from lake"], 60_000, env);
    expect(q.err).not.toContain(s3.secretAccessKey);
    expect({ code: q.code, out: q.out.trim(), err: q.code === 0 ? "" : q.err }).toEqual({ code: 0, out: JSON.stringify({ n: 3, s: 3 }), err: "" });
    const forced = await runFerry(["query", "--data-dir", dataDir, "--no-s3-path-style", "select 1"], 60_000, env);
    expect(forced.code).toBe(2);
    expect(forced.err).toContain(`--no-s3-path-style (FERRY_S3_PATH_STYLE=false) asks for virtual-host addressing (http://BUCKET.host/key), which an IP-address endpoint (127.0.0.1) cannot serve`);
  }, 90_000);
});

describe("addressed the wrong way, the error says what was answered and which setting to change", () => {
  test("forced virtual-host style at localhost: S3Proxy answers its bucket list, not the listing", async () => {
    const e = await caught(storeAt(`http://localhost:${port}`, false).list("x/"));
    expect(e).toBeInstanceOf(S3AnswerError);
    const err = e as S3AnswerError;
    expect(err.pathStyle).toBe(false);
    expect(err.bucket).toBe(s3.bucket);
    // The same request, signed again by ferry: S3Proxy takes it (200), and it is the list of buckets.
    expect(err.answered).toMatch(/^HTTP 200 application\/xml ".*<ListAllMyBucketsResult/);
    expect(err.message).toContain(`S3: ListObjectsV2 at http://localhost:${port} for bucket ${s3.bucket} (addressed virtual-host style, http://${s3.bucket}.localhost:${port}/) answered HTTP 200`);
    expect(err.message).toContain("instead of a <ListBucketResult> document (InvalidResponse): if the endpoint serves buckets as paths (most S3-compatible servers, any IP-address endpoint), set --s3-path-style (FERRY_S3_PATH_STYLE=true)");
    expect(err.message).not.toContain(s3.secretAccessKey);
  }, 30_000);

  test("virtual-host style at a host name without DNS for BUCKET.host: no answer, and the setting to change", async () => {
    const e = (await caught(storeAt("http://s3.invalid:9000", false).list("p/"))) as S3AnswerError;
    expect(e).toBeInstanceOf(S3AnswerError);
    expect(e.answered).toStartWith("no answer (");
    expect(e.message).toContain(`S3: ListObjectsV2 at http://s3.invalid:9000 for bucket ${s3.bucket} (addressed virtual-host style, http://${s3.bucket}.s3.invalid:9000/) got no answer (`);
    expect(e.message).toContain("(DNSResolveFailed): if the endpoint serves buckets as paths (most S3-compatible servers, any IP-address endpoint), set --s3-path-style (FERRY_S3_PATH_STYLE=true)");
  }, 30_000);

  test("virtual-host style at an IP address is refused before any request", () => {
    expect(() => storeAt(s3.endpoint, false)).toThrow(/--no-s3-path-style \(FERRY_S3_PATH_STYLE=false\)/);
    expect(() => openObjectStore({ bucket: s3.bucket, ...access(s3.endpoint), pathStyle: false })).toThrow(/use path-style \(--s3-path-style\)/);
  });

  test("an endpoint that is a web page, or that redirects: its answer, and the other setting when path-style was used", async () => {
    // Not S3 at all: what a web console (or a proxy's login page) answers at the endpoint.
    const seen: string[] = [];
    const web = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) =>
        seen.push(`${req.headers.get("host")} ${new URL(req.url).pathname}`) &&
        new URL(req.url).pathname.startsWith("/moved")
          ? new Response(null, { status: 301, headers: { location: "http://moved.invalid/" } })
          : new Response("<!doctype html>\n<html><head><title>Console</title></head><body>sign in</body></html>", { headers: { "content-type": "text/html; charset=utf-8" } }),
    });
    try {
      const endpoint = `http://127.0.0.1:${web.port}`;
      const page = (await caught(storeAt(endpoint, undefined, "console").list("p/"))) as S3AnswerError;
      expect(page).toBeInstanceOf(S3AnswerError);
      // The body's first 80 characters, no more.
      expect(page.answered).toBe(`HTTP 200 text/html ${JSON.stringify("<!doctype html>\n<html><head><title>Console</title></head><body>sign in</body></html>".slice(0, 80))}`);
      expect(page.message).toContain(`(addressed path-style, ${endpoint}/console) answered HTTP 200 text/html`);
      expect(page.message).toContain("set --no-s3-path-style (FERRY_S3_PATH_STYLE=false); check too that the endpoint (--s3-endpoint, AWS_ENDPOINT_URL) is the S3 API, not a web console");
      const moved = (await caught(storeAt(endpoint, undefined, "moved").list("p/"))) as S3AnswerError;
      expect(moved).toBeInstanceOf(S3AnswerError);
      expect(moved.answered).toBe(`HTTP 301 (Location: http://moved.invalid/) ""`);
      // Virtual-host style puts the bucket in the host, for Bun's client as for the signed re-ask.
      seen.length = 0;
      const vhost = (await caught(storeAt(`http://localhost:${web.port}`, false, "console").list("p/"))) as S3AnswerError;
      expect(vhost.message).toContain(`(addressed virtual-host style, http://console.localhost:${web.port}/) answered HTTP 200 text/html`);
      expect(seen).toEqual([`console.localhost:${web.port} /`, `console.localhost:${web.port} /`]);
    } finally {
      web.stop(true);
    }
  }, 30_000);
});
