/** `ferry serve` against the real Kafka: the shared HTTP contract plus Kafka-specific behaviour. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createKafka } from "../../../src/kafka/client.ts";
import { memoryLogger } from "../../helpers/logger.ts";
import { order, postOrders, startFerry, waitForInFlight } from "../../helpers/ferry-process.ts";
import { SERVER_HOOK_TIMEOUT, TEST_BROKERS, uniqueName } from "../../helpers/servers.ts";
import { topicReader } from "../../helpers/topic-reader.ts";
import { BODY_LIMIT, describeIngressContract, TOKEN } from "./ingress.case.ts";

const kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-test" }, memoryLogger().log);
const serveArgs = (topic: string, ...extra: string[]) => ["serve", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--port", "0", ...extra];

describeIngressContract("serve", async () => {
  const topic = uniqueName("serve-contract");
  const ferry = await startFerry(serveArgs(topic, "--auth-token", TOKEN, "--body-limit", String(BODY_LIMIT)));
  const reader = await topicReader(kafka, topic);
  return {
    ferry,
    readBack: (ids) => reader.latest(ids),
    close: async () => {
      expect(await ferry.stop()).toBe(0);
      await reader.close();
      expect(ferry.stderr()).not.toContain("TimeoutNegativeWarning");
    },
  };
});

describe("serve: Kafka specifics", () => {
  const topic = uniqueName("serve-kafka");
  let ferry: Awaited<ReturnType<typeof startFerry>>;
  let reader: Awaited<ReturnType<typeof topicReader>>;
  beforeAll(async () => {
    ferry = await startFerry(serveArgs(topic, "--partitions", "4", "--linger", "1000ms", "--max-in-flight", "50"));
    reader = await topicReader(kafka, topic);
  }, SERVER_HOOK_TIMEOUT);
  afterAll(async () => {
    await ferry?.stop();
    await reader?.close();
  }, SERVER_HOOK_TIMEOUT);

  test("the topic is created with --partitions; records are keyed by order_id and equal field by field", async () => {
    const admin = kafka.admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    expect(meta.topics[0]!.partitions).toHaveLength(4);
    const sent = [order(uniqueName("f"), { customer_id: "c1", ordered_at: "2026-01-02T03:04:05.678+02:00" }), order(uniqueName("g"))];
    expect((await postOrders(ferry.url, sent)).status).toBe(202);
    await reader.caughtUp();
    const got = reader.messages.filter((m) => sent.some((s) => s.order_id === m.key));
    expect(got).toHaveLength(2);
    const first = JSON.parse(got.find((m) => m.key === sent[0]!.order_id)!.value);
    expect(first).toEqual(sent[0]);
    const second = JSON.parse(got.find((m) => m.key === sent[1]!.order_id)!.value);
    expect(Object.keys(second).sort()).toEqual([...Object.keys(sent[1]!), "ordered_at"].sort());
    expect(second).toMatchObject(sent[1]!);
  });

  test("in-flight bound full → 429 with Retry-After; the waiting request still lands", async () => {
    const first = Array.from({ length: 40 }, () => order(uniqueName("w")));
    const pending = postOrders(ferry.url, first); // lingers ~1 s in the open batch
    await Bun.sleep(100);
    const second = await postOrders(ferry.url, Array.from({ length: 20 }, () => order(uniqueName("x"))));
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBe("1");
    expect((await pending).status).toBe(202);
    expect((await reader.latest(first.map((o) => o.order_id))).size).toBe(40);
  });

  test("SIGTERM with requests in flight: every 202 is in Kafka, the rest 503, exit 0", async () => {
    const t = uniqueName("serve-term");
    const f = await startFerry(serveArgs(t, "--linger", "300ms"));
    const orders = Array.from({ length: 200 }, () => order(uniqueName("t")));
    const answers = orders.map((o) =>
      postOrders(f.url, o).then(
        (r) => r.status,
        () => 0,
      ),
    );
    await waitForInFlight(f.url);
    const code = await f.stop("SIGTERM");
    const statuses = await Promise.all(answers);
    expect(code).toBe(0);
    expect(statuses.filter((s) => s !== 202 && s !== 503 && s !== 0)).toEqual([]);
    const accepted = orders.filter((_, i) => statuses[i] === 202);
    expect(accepted.length).toBeGreaterThan(0);
    const r = await topicReader(kafka, t);
    const got = await r.latest(orders.map((o) => o.order_id));
    await r.close();
    for (const o of accepted) expect(got.has(o.order_id)).toBe(true);
    expect(f.stderr()).toContain('"msg":"draining"');
  });

  test("--no-create-topic with a missing topic is a clear start-up error", async () => {
    const missing = uniqueName("missing");
    const err = await startFerry(serveArgs(missing, "--no-create-topic")).then(
      () => "started",
      (e: Error) => e.message,
    );
    expect(err).toMatch(/ferry exited \(1\) before listening/);
    expect(err).toContain(`ferry: kafka: topic "${missing}" does not exist`);
  });

  test("an unreachable broker at start-up is a clear error", async () => {
    const err = await startFerry(["serve", "--brokers", "127.0.0.1:1", "--port", "0"]).then(
      () => "started",
      (e: Error) => e.message,
    );
    expect(err).toMatch(/ferry exited \(1\) before listening/);
    expect(err).toContain("ferry: kafka: cannot connect");
  }, 60_000);
});
