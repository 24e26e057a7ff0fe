/**
 * The status page (GET /) in a real browser: Debian's chromium (scripts/chromium installs it when
 * missing) driven by playwright-core, axe-core for accessibility.
 *
 * First over the real status routes (src/status/routes.ts, access.ts) fed with each mode's example
 * snapshot (test/fixtures/status/<mode>.json): every mode's cards show the snapshot's values, no
 * console error and no request beyond the page's origin, no axe violation light and dark, 1200 and
 * 375 px wide with no sideways scroll; sign-in and sign-out when a token is configured;
 * "disconnected" when the listener goes away and live again when it is back; polling when the
 * event stream does not get through.
 *
 * Then against real ferry processes (dist/ferry, as users run it; FERRY_PAGE_TEST_FROM_SOURCE=1
 * runs src/main.ts) under load: `run` and `serve` (orders posted, some invalid), `sink` (a broker of
 * its own, stopped: the page shows Kafka down within seconds), `generate` and `export` (a Cassandra
 * table): the numbers move, and a screenshot of each page goes to .tmp/screenshots/<mode>.png
 * (FERRY_UPDATE_SCREENSHOTS=1: to docs/screenshots, the README's).
 * About 1.5 minutes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { concurrent } from "cassandra-driver";
import { Hono } from "hono";
import type { Page } from "playwright-core";
import { statusAccess } from "../../../src/status/access.ts";
import { statusRoutes } from "../../../src/status/routes.ts";
import type { Follower, Status } from "../../../src/status/status.ts";
import { STATUS_MODES, type StatusSnapshot } from "../../../src/status/types.ts";
import { BINARY, FROM_SOURCE, order, postOrders, startFerry, type FerryProcess } from "../../helpers/ferry-process.ts";
import { ownBroker } from "../../helpers/own-broker.ts";
import { TEST_BROKERS, TEST_CASSANDRA, TEST_CASSANDRA_LOGIN, uniqueName } from "../../helpers/servers.ts";
import { testCassandraClient } from "../../helpers/cassandra.ts";
import { axe, launchBrowser, scrollsSideways, watch, type Browser } from "../../helpers/browser.ts";

const ROOT = resolve(import.meta.dir, "../../..");
const fixture = (mode: string) => readFileSync(resolve(ROOT, `test/fixtures/status/${mode}.json`), "utf8");
const en = (n: number) => n.toLocaleString("en-US");

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
}, 180_000); // a first run on a fresh machine installs chromium
afterAll(() => browser?.close());

/** A Status that hands out one fixed snapshot (every 200 ms to followers). */
function fixedStatus(json: string): Status {
  const followers = new Set<Follower>();
  const timer = setInterval(() => followers.forEach((f) => f.next(json)), 200);
  return {
    snapshot: () => JSON.parse(json) as StatusSnapshot,
    json: () => json,
    follow(f) {
      followers.add(f);
      return () => followers.delete(f);
    },
    get followers() {
      return followers.size;
    },
    close() {
      clearInterval(timer);
      followers.forEach((f) => f.end());
    },
  };
}

/** The status routes on a listener of their own, over `json`. */
function fixtureServer(json: string, tokens: string[] = []) {
  const app = new Hono();
  const status = fixedStatus(json);
  statusRoutes(app, status, statusAccess({ tokens, bearer: undefined, tls: false }));
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch, idleTimeout: 0 });
  return {
    url: `http://127.0.0.1:${server.port}/`,
    stop: () => {
      status.close();
      server.stop(true);
    },
  };
}

const text = (page: Page, key: string) => page.locator(`[data-key="${key}"]`).first().innerText();

/** What each mode's example snapshot must show, read from the snapshot itself. */
const expectations: Record<string, (s: StatusSnapshot, page: Page) => Promise<void>> = {
  async run(s, page) {
    expect(await text(page, "journal_rows")).toContain(en(s.run!.journal_rows));
    expect(await page.locator("table", { hasText: "rollups" }).locator("tbody tr").count()).toBe(s.run!.rollups.length);
    expect(await text(page, "in_flight")).toContain(en(s.run!.ingress.in_flight));
  },
  async serve(s, page) {
    expect(await text(page, "topic")).toBe(s.serve!.topic);
    expect(await page.locator("table", { hasText: "Refusals" }).locator("tbody tr").count()).toBe(s.serve!.ingress.refusals.length);
  },
  async sink(s, page) {
    const lag = s.sink!.lag.reduce((a, p) => a + (p.lag ?? 0), 0);
    expect(await text(page, "lag_total")).toContain(en(lag));
    expect(await page.locator("table", { hasText: "Lag per partition" }).locator("tbody tr").count()).toBe(s.sink!.lag.length);
    expect(await page.locator("table", { hasText: "Last batches" }).locator("tbody tr").count()).toBe(s.sink!.batches.length);
    expect(await text(page, "dead_letters")).toBe(en(s.sink!.dead_letters.count));
  },
  async export(s, page) {
    expect(await text(page, "ranges")).toBe(`${en(s.export!.ranges.done)} / ${en(s.export!.ranges.total)}`);
    expect(await text(page, "rows")).toBe(en(s.export!.rows));
  },
  async generate(s, page) {
    expect(await text(page, "sent")).toBe(en(s.generate!.sent));
    expect(await text(page, "target")).toBe(s.generate!.target);
  },
};

describe("each mode's example snapshot", () => {
  for (const mode of STATUS_MODES) {
    test(`${mode}: its cards, dependencies and warnings; no console error; axe clean light and dark; 375 px wide without sideways scroll`, async () => {
      const json = fixture(mode);
      const s = JSON.parse(json) as StatusSnapshot;
      const server = fixtureServer(json);
      const page = await browser.context.newPage();
      const { errors } = watch(page);
      try {
        await page.goto(server.url);
        await page.locator('#conn[data-state="live"]').waitFor({ timeout: 5000 });
        expect(await page.locator("#mode").innerText()).toBe(mode);
        expect(await text(page, "total_in")).toBe(en(s.totals.in));
        expect(await text(page, "total_out")).toBe(en(s.totals.out));
        expect(await page.locator("#chart path.line-in").count()).toBe(s.rates.samples.length > 0 ? 1 : 0);
        // Dependencies: one badge each, its state in words (not colour alone).
        const deps = page.locator("#deps li.dep");
        expect(await deps.count()).toBe(s.dependencies.length);
        for (const [i, d] of s.dependencies.entries()) {
          expect(await deps.nth(i).getAttribute("data-state")).toBe(d.state);
          expect((await deps.nth(i).locator(".badge").innerText()).toLowerCase()).toBe(d.state);
          if (d.last_error) expect(await deps.nth(i).innerText()).toContain(d.last_error);
        }
        expect(await page.locator("#warning-list li").allInnerTexts()).toEqual(s.warnings.map((w) => w.message));
        expect(await page.locator("#warnings").isVisible()).toBe(s.warnings.length > 0);
        await expectations[mode]!(s, page);

        expect(await axe(page)).toEqual([]);
        await page.emulateMedia({ colorScheme: "dark" });
        expect(await axe(page)).toEqual([]);
        await page.emulateMedia({ colorScheme: "light" });
        await page.setViewportSize({ width: 375, height: 800 });
        await Bun.sleep(300); // a snapshot or two at that width
        expect(await scrollsSideways(page)).toBeNull();
        expect(await axe(page)).toEqual([]);
        expect(errors).toEqual([]);
      } finally {
        await page.close();
        server.stop();
      }
    }, 30_000);
  }
});

test("a token configured: the page asks for it, refuses a wrong one, shows the status with the right one (an HttpOnly cookie), signs out", async () => {
  const server = fixtureServer(fixture("run"), ["page-test-token"]);
  const page = await browser.context.newPage();
  const { errors } = watch(page);
  try {
    await page.goto(server.url);
    await page.locator("#login").waitFor({ state: "visible", timeout: 5000 });
    expect(await page.locator("#status").isHidden()).toBe(true);
    expect(await page.locator('#conn[data-state="error"]').innerText()).toContain("Sign in");
    expect(await axe(page)).toEqual([]);

    await page.getByLabel("Auth token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    // The refusal comes back from POST /login: wait for it to be shown (reading at once raced it in CI).
    await page.locator("#login-error", { hasText: "That token is not accepted." }).waitFor({ timeout: 10_000 });
    expect(await page.locator("#login-error").innerText()).toBe("That token is not accepted.");
    expect(await page.locator("#status").isHidden()).toBe(true);

    await page.getByLabel("Auth token").fill("page-test-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 5000 });
    expect(await page.locator("#login").isHidden()).toBe(true);
    expect(await text(page, "mode")).toBe("run");
    const cookies = await browser.context.cookies(server.url);
    expect(cookies.map((c) => ({ httpOnly: c.httpOnly, sameSite: c.sameSite }))).toEqual([{ httpOnly: true, sameSite: "Strict" }]);
    expect(await page.evaluate("document.cookie")).toBe(""); // no script reads it
    // Sign out: the session is forgotten, the form is back.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("#login").waitFor({ state: "visible", timeout: 5000 });
    expect((await page.request.get(`${server.url}status.json`)).status()).toBe(401);
    // The browser logs each 401 it got (status.json before sign-in, the wrong token): nothing else.
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  } finally {
    await page.close();
    server.stop();
    await browser.context.clearCookies();
  }
}, 30_000);

test("the listener goes away: the page says disconnected within seconds, keeps the last numbers, and is live again when it is back", async () => {
  const server = fixtureServer(fixture("sink"));
  const page = await browser.context.newPage();
  try {
    await page.goto(server.url);
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 5000 });
    const port = new URL(server.url).port;
    server.stop();
    await page.locator('#conn[data-state="disconnected"]').waitFor({ timeout: 5000 });
    expect(await page.locator("#conn").innerText()).toContain("Disconnected");
    expect(await text(page, "total_in")).toBe(en(5_000_000)); // the last snapshot stays shown
    // Back on the same port: the page reconnects by itself.
    const app = new Hono();
    const json = fixture("sink");
    const status = fixedStatus(json);
    statusRoutes(app, status, statusAccess({ tokens: [], bearer: undefined, tls: false }));
    const again = Bun.serve({ hostname: "127.0.0.1", port: Number(port), fetch: app.fetch, idleTimeout: 0 });
    try {
      await page.locator('#conn[data-state="live"]').waitFor({ timeout: 15_000 });
    } finally {
      status.close();
      again.stop(true);
    }
  } finally {
    await page.close();
  }
}, 30_000);

test("no event stream (a proxy that does not pass it): the page polls status.json and says so", async () => {
  const json = fixture("generate");
  const app = new Hono();
  const status = fixedStatus(json);
  statusRoutes(app, status, statusAccess({ tokens: [], bearer: undefined, tls: false }));
  const proxy = new Hono();
  proxy.get("/status/events", (c) => c.json({ error: "not passed" }, 502));
  proxy.all("*", (c) => app.fetch(c.req.raw));
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: proxy.fetch });
  const page = await browser.context.newPage();
  const { errors } = watch(page);
  try {
    await page.goto(`http://127.0.0.1:${server.port}/`);
    await page.locator('#conn[data-state="polling"]').waitFor({ timeout: 10_000 });
    expect(await page.locator("#conn").innerText()).toContain("Polling");
    expect(await text(page, "sent")).toBe(en((JSON.parse(json) as StatusSnapshot).generate!.sent));
    expect(await axe(page)).toEqual([]);
    // The browser logs each 502 of the stream: nothing else.
    expect(errors.filter((e) => !/status of 502/.test(e))).toEqual([]);
  } finally {
    await page.close();
    status.close();
    server.stop(true);
  }
}, 30_000);

// ─── real processes ────────────────────────────────────────────────────────────────────────────
/**
 * Where the screenshots go: .tmp/screenshots (a test artifact, not tracked), or the README's
 * docs/screenshots with FERRY_UPDATE_SCREENSHOTS=1 (so a test run leaves the work tree as it was).
 */
const SCREENSHOTS = resolve(ROOT, process.env.FERRY_UPDATE_SCREENSHOTS === "1" ? "docs/screenshots" : ".tmp/screenshots");
/** dist/ferry as users run it (scripts/test builds it first); FERRY_PAGE_TEST_FROM_SOURCE=1: src/main.ts instead. */
const COMMAND = process.env.FERRY_PAGE_TEST_FROM_SOURCE === "1" ? FROM_SOURCE : BINARY;

/** Starts ferry and waits for the log line naming its URL (`listening`, or the sink's metrics listener). */
async function start(args: string[]): Promise<FerryProcess> {
  if (COMMAND === BINARY && !existsSync(BINARY[0]!)) throw new Error(`${BINARY[0]} is missing: build it with bun scripts/build.ts`);
  const p = await startFerry(args, {}, COMMAND);
  const page = await fetch(`${p.url}/`);
  if (!(page.headers.get("content-type") ?? "").startsWith("text/html")) {
    await p.stop();
    throw new Error(`GET / of ${COMMAND.join(" ")} is no page (${page.status}): rebuild dist/ferry (bun scripts/build.ts)`);
  }
  return p;
}

/** POSTs orders until stopped: batches of 100, one request in ten with an invalid record (a 422 by field). */
function load(url: string) {
  let running = true;
  let sent = 0;
  const statuses = new Map<number, number>();
  const done = (async () => {
    for (let n = 0; running; n++) {
      const orders = Array.from({ length: 100 }, (_, i) => order(`page-${n}-${i}-${Math.random().toString(36).slice(2, 8)}`));
      if (n % 10 === 9) orders[0] = { ...orders[0]!, price: -1 };
      const res = await postOrders(url, orders).catch(() => undefined);
      if (res) {
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        await res.arrayBuffer();
        if (res.status === 202) sent += orders.length;
      }
      await Bun.sleep(15);
    }
  })();
  return {
    statuses,
    sent: () => sent,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

const numberOf = async (page: Page, key: string) => Number((await text(page, key)).replace(/[^0-9]/g, ""));

/** Waits until the page's number `key` is above `than`. */
async function waitAbove(page: Page, key: string, than: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await numberOf(page, key);
    if (n > than) return n;
    if (Date.now() > deadline) throw new Error(`the page's ${key} stayed at ${n} (waited for more than ${than})`);
    await Bun.sleep(250);
  }
}

/** Waits until the chart's line of records in has at least `points` seconds. */
async function chartHas(page: Page, points: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = (await page.locator("#chart path.line-in").getAttribute("d").catch(() => null)) ?? "";
    if ((d.match(/[ML][\d.]+,[\d.]+/g) ?? []).length >= points) return;
    if (Date.now() > deadline) throw new Error(`the chart has fewer than ${points} points: ${d}`);
    await Bun.sleep(250);
  }
}

/** Opens the page of `url`, waits until it is live; then `check` runs, axe, 375 px, the screenshot; no console error throughout. */
async function pageOf(url: string, mode: string, check: (page: Page) => Promise<void>): Promise<Page> {
  const page = await browser.context.newPage();
  const { errors } = watch(page);
  await page.goto(`${url}/`);
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 10_000 });
  expect(await page.locator("#mode").innerText()).toBe(mode);
  await check(page);
  expect(await axe(page)).toEqual([]);
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: resolve(SCREENSHOTS, `${mode}.png`), fullPage: true, animations: "disabled" });
  await page.setViewportSize({ width: 375, height: 800 });
  await Bun.sleep(1200); // a snapshot or two at that width
  expect(await scrollsSideways(page)).toBeNull();
  if (mode === "run") await page.screenshot({ path: resolve(SCREENSHOTS, "run-375.png"), fullPage: true, animations: "disabled" });
  await page.setViewportSize({ width: 1200, height: 900 });
  expect(errors).toEqual([]);
  return page;
}

describe("real ferry processes under load", () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(resolve(tmpdir(), "ferry-page-"));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test("run: records in and out move while orders come in, requests by answer and refusals by field, storage; stopped → disconnected", async () => {
    const ferry = await start(["run", "--port", "0", "--data-dir", tmp()]);
    const traffic = load(ferry.url);
    let page: Page | undefined;
    try {
      page = await pageOf(ferry.url, "run", async (page) => {
        const first = await waitAbove(page, "total_in", 0);
        await waitAbove(page, "total_in", first + 500);
        await waitAbove(page, "total_out", 0);
        await waitAbove(page, "rate_in", 0);
        const answers = page.locator("table", { hasText: "by answer" }).locator("tbody tr");
        await expect(answers.allInnerTexts()).resolves.toEqual(expect.arrayContaining([expect.stringMatching(/^202\s/)]));
        await waitAbove(page, "rejected", 0);
        const refusals = await page.locator("table", { hasText: "Refusals" }).locator("tbody").innerText();
        expect(refusals).toContain("price");
        await chartHas(page, 6); // a few seconds of history for the screenshot
        expect(await text(page, "wal_bytes")).toMatch(/\d/);
      });
      await traffic.stop();
      const stopped = Date.now();
      expect(await ferry.stop()).toBe(0);
      await page.locator('#conn[data-state="disconnected"]').waitFor({ timeout: 10_000 });
      console.error(`run: the page said disconnected ${Date.now() - stopped} ms after SIGTERM`);
    } finally {
      await traffic.stop();
      await page?.close();
      await ferry.stop();
    }
  }, 60_000);

  test("serve: records move into Kafka, Kafka up with its address, the topic", async () => {
    const topic = uniqueName("page-serve");
    const ferry = await start(["serve", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--port", "0"]);
    const traffic = load(ferry.url);
    try {
      const page = await pageOf(ferry.url, "serve", async (page) => {
        const first = await waitAbove(page, "total_out", 0);
        await waitAbove(page, "total_out", first + 500);
        await waitAbove(page, "rate_out", 0);
        expect(await text(page, "topic")).toBe(topic);
        const kafka = page.locator('#deps li[data-kind="kafka"]');
        expect(await kafka.getAttribute("data-state")).toBe("up");
        expect(await kafka.innerText()).toContain(TEST_BROKERS[0]!);
        await chartHas(page, 6);
      });
      await page.close();
    } finally {
      await traffic.stop();
      await ferry.stop();
    }
  }, 60_000);

  test("sink: records read from Kafka, lag per partition, batches, dead letters; its broker stopped → Kafka down on the page within seconds", async () => {
    const broker = ownBroker(OWN_BROKER_PORT);
    await broker.start();
    const topic = uniqueName("page-sink");
    const group = uniqueName("page-sink-group");
    // Orders into the topic for a while (1% invalid: dead letters), read by the sink as they come.
    const producer = await spawnListening(["generate", "--brokers", broker.address, "--topic", topic, "--rate", "3000", "--count", "120000", "--invalid-ratio", "0.01", "--seed", "22"]);
    const sink = await spawnListening(["sink", "--brokers", broker.address, "--topic", topic, "--group", group, "--data-dir", tmp(), "--interval", "1s"], true);
    let page: Page | undefined;
    try {
      page = await pageOf(sink.url, "sink", async (page) => {
        const first = await waitAbove(page, "total_in", 0, 30_000);
        await waitAbove(page, "total_in", first + 1000);
        await waitAbove(page, "rate_in", 0);
        await waitAbove(page, "dead_letters", 0, 20_000);
        const lagRows = page.locator("table", { hasText: "Lag per partition" }).locator("tbody tr");
        expect(await lagRows.count()).toBeGreaterThan(0);
        expect(await page.locator("table", { hasText: "Last batches" }).locator("tbody tr").count()).toBeGreaterThan(0);
        expect(await page.locator('#deps li[data-kind="kafka"]').getAttribute("data-state")).toBe("up");
        await chartHas(page, 6);
      });
      await producer.stop();
      const errors = watch(page).errors; // from here on the page's own requests still work: only Kafka goes
      const stopped = Date.now();
      await broker.stop();
      const kafka = page.locator('#deps li[data-kind="kafka"]');
      await page.locator('#deps li[data-kind="kafka"][data-state="down"]').waitFor({ timeout: 30_000 });
      const took = Date.now() - stopped;
      expect((await kafka.locator(".badge").innerText()).toLowerCase()).toBe("down");
      expect(await kafka.locator(".dep-error").innerText()).not.toBe("");
      expect(await page.locator('#conn[data-state="live"]').count()).toBe(1);
      expect(errors).toEqual([]);
      await page.screenshot({ path: resolve(SCREENSHOTS, "sink-kafka-down.png"), fullPage: true, animations: "disabled" });
      console.error(`sink: the page showed Kafka down ${took} ms after its broker was told to stop`);
    } finally {
      await page?.close();
      await producer.stop();
      await sink.stop();
      await broker.stop();
    }
  }, 120_000);

  test("generate: records made and acknowledged move, its target, the progress of --count", async () => {
    const topic = uniqueName("page-generate");
    const gen = await spawnListening(["generate", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--rate", "2000", "--count", "100000"], true);
    try {
      const page = await pageOf(gen.url, "generate", async (page) => {
        const first = await waitAbove(page, "accepted", 0);
        await waitAbove(page, "accepted", first + 500);
        await waitAbove(page, "rate_out", 0);
        expect(await text(page, "target")).toContain(topic);
        expect(await page.locator("#generate-progress").isVisible()).toBe(true);
        expect(await page.locator('#deps li[data-kind="kafka"]').getAttribute("data-state")).toBe("up");
        await chartHas(page, 6);
      });
      await page.close();
    } finally {
      await gen.stop();
    }
  }, 60_000);

  test("export: token ranges done of total and rows move while a Cassandra table goes to Kafka; the checkpoint", async () => {
    // A table read slowly enough to watch: small pages, one range at a time, many ranges.
    const keyspace = uniqueName("page_export").replaceAll("-", "_");
    const client = testCassandraClient();
    await client.connect();
    const work = tmp();
    let ferry: Awaited<ReturnType<typeof spawnListening>> | undefined;
    try {
      await client.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
      await client.execute(`CREATE TABLE ${keyspace}.orders (id int PRIMARY KEY, product text, quantity int)`);
      const rows = Array.from({ length: EXPORT_ROWS }, (_, i) => [i, `product ${i}`, 1 + (i % 9)]);
      const t0 = Date.now();
      await concurrent.executeConcurrent(client, `INSERT INTO ${keyspace}.orders (id, product, quantity) VALUES (?, ?, ?)`, rows, { concurrencyLevel: 128 });
      console.error(`export: ${EXPORT_ROWS} rows inserted in ${Date.now() - t0} ms`);
      ferry = await spawnListening(
        [
          "export",
          ...["--cassandra", TEST_CASSANDRA.join(","), "--username", TEST_CASSANDRA_LOGIN.username, "--password", TEST_CASSANDRA_LOGIN.password],
          ...["--keyspace", keyspace, "--table", "orders", "--brokers", TEST_BROKERS.join(","), "--topic", uniqueName("page-export")],
          ...["--parallel", "1", "--splits", "512", "--page-size", "1", "--checkpoint", resolve(work, "export.ckpt")],
        ],
        true,
      );
      const page = await pageOf(ferry.url, "export", async (page) => {
        const first = await waitAbove(page, "rows", 0);
        await waitAbove(page, "rows", first);
        const [done, total] = (await text(page, "ranges")).split("/").map((x) => Number(x.replace(/[^0-9]/g, "")));
        expect(total).toBe(512);
        expect(done).toBeGreaterThan(0);
        expect(await text(page, "checkpoint")).toContain("export.ckpt");
        for (const kind of ["cassandra", "kafka"]) expect(await page.locator(`#deps li[data-kind="${kind}"]`).getAttribute("data-state")).toBe("up");
        console.error(`export: ${await text(page, "rows")} rows, ranges ${await text(page, "ranges")} after ${await text(page, "uptime")}`);
      });
      await page.close();
    } finally {
      const t1 = Date.now();
      await ferry?.stop();
      console.error(`export: stopped ${Date.now() - t1} ms after SIGTERM`);
      await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
      await client.shutdown();
    }
  }, 90_000);
});

/** Rows of the export test's table: enough that the export runs for seconds with its small pages. */
const EXPORT_ROWS = 8_000;

/** A broker of this file's own (scripts/services/kafka on these ports), stopped by the sink test. */
const OWN_BROKER_PORT = 49092;

/**
 * Starts a mode without an ingress; with `listen`, on a --metrics-port of its own (a port found
 * free just before), and waits until its page answers.
 */
async function spawnListening(args: string[], listen = false) {
  let port = 0;
  if (listen) {
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    port = probe.port!;
    probe.stop(true);
    args = [...args, "--metrics-port", String(port)];
  }
  if (COMMAND === BINARY && !existsSync(BINARY[0]!)) throw new Error(`${BINARY[0]} is missing: build it with bun scripts/build.ts`);
  const proc = Bun.spawn([...COMMAND, ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let err = "";
  void (async () => {
    for await (const chunk of proc.stderr) err += new TextDecoder().decode(chunk);
  })().catch(() => {});
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
    await proc.exited;
    clearTimeout(timer);
  };
  if (listen) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await fetch(`${url}/`).catch(() => undefined);
      if (res?.ok && (res.headers.get("content-type") ?? "").startsWith("text/html")) break;
      if (proc.exitCode !== null) throw new Error(`ferry ${args[0]} exited (${proc.exitCode}):\n${err}`);
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`ferry ${args[0]}'s page did not answer at ${url}/ (${res?.status}):\n${err}`);
      }
      await Bun.sleep(200);
    }
  }
  return { url, stop, stderr: () => err };
}
