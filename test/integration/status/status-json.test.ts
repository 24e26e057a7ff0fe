/**
 * The status behind the page and `ferry top`, against real processes and servers: `ferry run`'s
 * numbers move under load (status.json and the event stream), access with a token (bearer, the
 * sign-in form's cookie), a stop with a stream open; `ferry sink --metrics-port` shows lag per
 * partition, batches and dead letters; Kafka stopped (a broker of this file's own, ports
 * 59092/59093) turns the kafka dependency down within seconds for sink and serve, and up again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { createKafka } from "../../../src/kafka/client.ts";
import { StatusSnapshotSchema, type StatusSnapshot } from "../../../src/status/types.ts";
import { FROM_SOURCE, order, postOrders, startFerry, type FerryProcess } from "../../helpers/ferry-process.ts";
import { memoryLogger } from "../../helpers/logger.ts";
import { ownBroker } from "../../helpers/own-broker.ts";
import { SERVER_HOOK_TIMEOUT, TEST_BROKERS, uniqueName } from "../../helpers/servers.ts";
import { startSink } from "../../helpers/sink.ts";
import { createTestTopic } from "../../helpers/topic-reader.ts";

const TOKEN = "status-Token_42";
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "ferry-status-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** GET /status.json, checked against the schema. */
async function status(url: string, headers: Record<string, string> = {}): Promise<StatusSnapshot> {
  const res = await fetch(`${url}/status.json`, { headers });
  expect(res.status).toBe(200);
  const body = await res.json();
  const r = v.safeParse(StatusSnapshotSchema, body);
  expect(r.issues?.map((i) => `${v.getDotPath(i)}: ${i.message}`) ?? []).toEqual([]);
  return r.output as StatusSnapshot;
}

async function waitFor<T>(what: string, read: () => Promise<T>, ok: (t: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await read();
    if (ok(t)) return t;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${String(JSON.stringify(t)).slice(0, 2000)}`);
    await Bun.sleep(200);
  }
}

/** Reads an event stream's `status` events (their snapshots) as they come. */
function events(res: Response) {
  const got: StatusSnapshot[] = [];
  let ended = false;
  const reader = res.body!.getReader();
  const done = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const lines = buffer.slice(0, end).split("\n");
        buffer = buffer.slice(end + 2);
        expect(lines[0]).toBe("event: status");
        got.push(JSON.parse(lines[1]!.slice("data: ".length)));
      }
    }
    ended = true;
  })();
  return { got, done, ended: () => ended, cancel: () => reader.cancel().catch(() => {}) };
}

describe("ferry run", () => {
  let ferry: FerryProcess | undefined;
  afterAll(() => ferry?.stop(), SERVER_HOOK_TIMEOUT);

  test("status.json and the event stream move under load; a token guards them (bearer or the sign-in cookie); a stop with a stream open is prompt", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "token"), `${TOKEN}\n`);
    ferry = await startFerry(["run", "--port", "0", "--data-dir", join(dir, "data"), "--interval", "1s", "--auth-token-file", join(dir, "token")]);
    const url = ferry.url;
    const bearer = { authorization: `Bearer ${TOKEN}` };

    // Access: the page itself is open (it asks for sign-in), the data is not.
    expect((await fetch(`${url}/`)).status).toBe(200);
    expect((await fetch(`${url}/status.json`)).status).toBe(401);
    expect((await fetch(`${url}/status/events`)).status).toBe(401);
    const refused = await fetch(`${url}/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "token=wrong", redirect: "manual" });
    expect(refused.status).toBe(401);
    const login = await fetch(`${url}/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${TOKEN}`, redirect: "manual" });
    expect(login.status).toBe(303);
    const setCookie = login.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain(TOKEN);
    const cookie = { cookie: setCookie.split(";")[0]! };

    const before = await status(url, cookie);
    expect(before.mode).toBe("run");
    expect(before.totals).toEqual({ in: 0, out: 0, rejected: 0 });
    expect(before.config.authTokenFile).toBe(join(dir, "token"));
    expect(JSON.stringify(before)).not.toContain(TOKEN);
    expect(before.dependencies.find((d) => d.kind === "catalog")?.state).toBe("up");
    expect(before.warnings).toEqual([]); // loopback

    const stream = events(await fetch(`${url}/status/events`, { headers: bearer }));
    // Load: 30 requests of 100 orders over ~3 s, 3 invalid requests among them.
    let n = 0;
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 3 }, () => {
          const batch = Array.from({ length: 100 }, () => order(`o${n++}`));
          return postOrders(url, batch, { token: TOKEN }).then((r) => expect(r.status).toBe(202));
        }),
      );
      if (round % 4 === 0) expect((await postOrders(url, [order(`bad${round}`, { price: -1 })], { token: TOKEN })).status).toBe(422);
      await Bun.sleep(300);
    }
    const after = await waitFor("the rollups of 3000 orders", () => status(url, bearer), (s) => s.run!.journal_rows === 0 && s.run!.rollups.length > 0, 20_000);
    expect(after.totals).toEqual({ in: 3003, out: 3000, rejected: 3 });
    const ingress = after.run!.ingress;
    expect(ingress.requests).toEqual([
      { status: 202, count: 30 },
      { status: 422, count: 3 },
    ]);
    expect(ingress.refusals).toEqual([{ status: 422, reason: "must not be negative", field: "price", count: 3 }]);
    expect(ingress.in_flight).toBe(0);
    expect(ingress.write_latency_ms!.p99).toBeGreaterThan(0);
    expect(after.run!.wal_bytes).not.toBeNull();
    expect(after.run!.db_bytes!).toBeGreaterThan(0);
    expect(after.run!.rollups.reduce((sum, r) => sum + r.rows, 0)).toBe(3000);
    // The per-second history holds the load: what it counts is what the totals say (up to the second not yet finished).
    await Bun.sleep(1100);
    const later = await status(url, bearer);
    expect(later.rates.samples.reduce((sum, s) => sum + s.out, 0)).toBe(3000);
    expect(later.rates.samples.filter((s) => s.out > 0).length).toBeGreaterThanOrEqual(2);
    expect(later.uptime_s).toBeGreaterThan(before.uptime_s);

    // The stream had a snapshot a second, its numbers growing with the load.
    expect(stream.got.length).toBeGreaterThanOrEqual(3);
    const outs = stream.got.map((s) => s.totals.out);
    expect(outs).toEqual([...outs].sort((a, b) => a - b));
    expect(outs[0]).toBeLessThan(3000);
    expect(outs.at(-1)).toBe(3000);

    // SIGTERM with the stream still open: the stream ends and ferry exits (no wait on the open response).
    const t0 = Date.now();
    expect(await ferry.stop("SIGTERM", 20_000)).toBe(0);
    ferry = undefined;
    await stream.done;
    expect(stream.ended()).toBe(true);
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 60_000);
});

describe("ferry sink --metrics-port", () => {
  test("lag per partition, the last batches and dead letters", async () => {
    const kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-status-test" }, memoryLogger().log);
    const topic = uniqueName("status-sink");
    await createTestTopic(kafka, topic, 3);
    const dir = tmp();
    const sink = startSink(["--topic", topic, "--group", uniqueName("g"), "--data-dir", dir, "--interval", "1s", "--max-records", "200", "--metrics-port", "0"]);
    try {
      const started = await waitFor("the sink's start", async () => /"msg":"sink started".*?"metrics":"([^"]+)"/.exec(sink.stderr())?.[1], (u) => u !== undefined, 60_000);
      const url = started!;
      const idle = await waitFor("3 partitions assigned", () => status(url), (s) => s.sink!.lag.length === 3, 30_000);
      expect(idle.mode).toBe("sink");
      expect(idle.dependencies.map((d) => [d.name, d.state])).toEqual([
        ["kafka", "up"],
        ["catalog", "up"],
      ]);

      // 3000 orders, 5 of them invalid, spread over the partitions by key.
      const producer = kafka.producer();
      await producer.connect();
      const messages = Array.from({ length: 3000 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify(i % 600 === 7 ? order(`k${i}`, { quantity: 0 }) : order(`k${i}`)) }));
      await producer.send({ topic, acks: -1, messages });
      await producer.disconnect();

      let sawLag = false;
      const done = await waitFor(
        "every record read",
        async () => {
          const s = await status(url);
          if (s.sink!.lag.some((p) => (p.lag ?? 0) > 0)) sawLag = true;
          return s;
        },
        (s) => s.totals.in === 3000 && s.sink!.lag.every((p) => p.lag === 0),
        60_000,
      );
      expect(sawLag).toBe(true);
      const sinkStatus = done.sink!;
      // Each partition: its end, where the sink stands, and the lag between them.
      expect(sinkStatus.lag.map((p) => p.partition)).toEqual([0, 1, 2]);
      expect(sinkStatus.lag.reduce((sum, p) => sum + p.next_offset!, 0)).toBe(3000);
      for (const p of sinkStatus.lag) expect(p.high_watermark).toBe(p.next_offset);
      // Batches of at most 200 records, newest first, their ranges within the partitions.
      expect(sinkStatus.batches.length).toBe(10);
      const seqs = sinkStatus.batches.map((b) => b.sequence);
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
      for (const b of sinkStatus.batches) {
        expect(b.records).toBeLessThanOrEqual(200);
        expect(b.records).toBe(b.ranges.reduce((sum, r) => sum + r.records, 0));
        expect(b.rows + b.rejected).toBe(b.records);
        expect(b.bytes).toBeGreaterThan(0);
        expect(b.snapshot).not.toBeNull();
        for (const r of b.ranges) expect(r.last_offset - r.first_offset + 1).toBe(r.records);
      }
      expect(done.totals).toEqual({ in: 3000, out: 3000, rejected: 5 });
      expect(sinkStatus.dead_letters.count).toBe(5);
      expect(sinkStatus.dead_letters.last.length).toBe(5);
      for (const d of sinkStatus.dead_letters.last) expect(d.reason).toContain("quantity");
      expect(done.rates.samples.reduce((sum, s) => sum + s.in, 0)).toBeLessThanOrEqual(3000);
      // The same counters as /metrics.
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const inTotal = [...metrics.matchAll(/^ferry_sink_records_in_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
      expect(inTotal).toBe(3000);
    } finally {
      const r = await sink.stop();
      expect({ code: r.code, err: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, err: "" });
    }
  }, 120_000);
});

/** `ferry sink` on any brokers (startSink's are the shared ones), its stderr kept. */
function sinkOn(args: string[]) {
  const proc = Bun.spawn([...FROM_SOURCE, "sink", ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let err = "";
  const decoder = new TextDecoder();
  const drained = (async () => {
    for await (const chunk of proc.stderr) err += decoder.decode(chunk);
  })().catch(() => {});
  return {
    stderr: () => err,
    async stop() {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
      await proc.exited;
      clearTimeout(timer);
      await drained;
    },
  };
}

describe("Kafka stopped", () => {
  const broker = ownBroker(59092);
  const running: { stop(): Promise<unknown> }[] = [];
  beforeAll(() => broker.start(), SERVER_HOOK_TIMEOUT);
  afterAll(async () => {
    for (const r of running) await r.stop().catch(() => {});
    await broker.stop();
  }, SERVER_HOOK_TIMEOUT);

  test("the kafka dependency of a sink and of serve turns down within seconds, with the error and since when, and up again", async () => {
    const kafka = createKafka({ brokers: [broker.address], clientId: "ferry-status-test" }, memoryLogger().log);
    const topic = uniqueName("status-down");
    await createTestTopic(kafka, topic, 2);
    const sink = sinkOn(["--brokers", broker.address, "--topic", topic, "--group", uniqueName("g"), "--data-dir", tmp(), "--interval", "1s", "--metrics-port", "0"]);
    running.push(sink);
    const serve = await startFerry(["serve", "--brokers", broker.address, "--topic", topic, "--port", "0"]);
    running.push(serve);
    const sinkUrl = (await waitFor("the sink's start", async () => /"msg":"sink started".*?"metrics":"([^"]+)"/.exec(sink.stderr())?.[1], (u) => u !== undefined, 60_000).catch((e) => {
      throw new Error(`${e.message}\n${sink.stderr()}`);
    }))!;
    const kafkaOf = (s: StatusSnapshot) => s.dependencies.find((d) => d.name === "kafka")!;
    for (const url of [sinkUrl, serve.url]) await waitFor(`kafka up at ${url}`, () => status(url), (s) => kafkaOf(s).state === "up", 30_000);

    // From the moment the broker is told to stop (its shutdown takes a few seconds).
    const stoppedAt = Date.now();
    await broker.stop();
    const seen = await Promise.all(
      [sinkUrl, serve.url].map(async (url) => {
        const s = await waitFor(`kafka down at ${url}`, () => status(url), (s) => kafkaOf(s).state === "down", 30_000);
        return { url, afterMs: Date.now() - stoppedAt, dep: kafkaOf(s) };
      }),
    );
    for (const { afterMs, dep } of seen) {
      expect(afterMs).toBeLessThan(20_000); // "within seconds" of the stop
      expect(Date.parse(dep.since!)).toBeGreaterThanOrEqual(stoppedAt - 1000);
      expect(dep.last_error).toBeTruthy();
      expect(dep.last_error!).not.toContain("\n");
    }

    await broker.start();
    for (const url of [sinkUrl, serve.url]) {
      const back = await waitFor(`kafka up again at ${url}`, () => status(url), (s) => kafkaOf(s).state === "up", 90_000);
      expect(kafkaOf(back).last_error).toBeTruthy(); // the last error stays
    }
    console.log(`kafka down seen ${seen.map((s) => `${s.afterMs} ms`).join(", ")} after the broker was told to stop (sink, serve)`);
  }, 240_000);
});
