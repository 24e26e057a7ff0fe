/**
 * `ferry serve` while its broker goes away and comes back: a broker of its own (ports 19092/19093,
 * started and stopped with scripts/services/kafka) so the shared one stays up for other tests.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { order, postOrders, startFerry, type FerryProcess } from "../../helpers/ferry-process.ts";
import { createKafka } from "../../../src/kafka/client.ts";
import { memoryLogger } from "../../helpers/logger.ts";
import { ownBroker } from "../../helpers/own-broker.ts";
import { readTopic } from "../../helpers/topic-reader.ts";
import { SERVER_HOOK_TIMEOUT, uniqueName } from "../../helpers/servers.ts";

const broker = ownBroker(19092);
const kafka = createKafka({ brokers: [broker.address], clientId: "ferry-outage-test" }, memoryLogger().log);

let ferry: FerryProcess;
beforeAll(() => broker.start(), SERVER_HOOK_TIMEOUT);
afterAll(async () => {
  await ferry?.stop();
  await broker.stop();
}, SERVER_HOOK_TIMEOUT);

const ready = async (url: string) => (await fetch(`${url}/readyz`)).status;
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(200);
  }
}

test("broker stopped → 503 with Retry-After within the produce timeout and /readyz 503; back → 202 without a restart; a 503 order is never sent later", async () => {
  const topic = uniqueName("outage");
  const ids = { before: uniqueName("before"), during: uniqueName("during"), fast: uniqueName("fast"), after: uniqueName("after") };
  ferry = await startFerry(["serve", "--brokers", broker.address, "--topic", topic, "--port", "0", "--produce-timeout", "3s"]);
  expect((await postOrders(ferry.url, order(ids.before))).status).toBe(202);

  await broker.stop();
  const started = Date.now();
  const during = await postOrders(ferry.url, order(ids.during));
  const took = Date.now() - started;
  expect(during.status).toBe(503);
  expect(Number(during.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(took).toBeLessThan(3000 + 2000); // bounded: never a hang
  await waitFor("/readyz 503", async () => (await ready(ferry.url)) === 503, 10_000);
  const fast = Date.now();
  expect((await postOrders(ferry.url, order(ids.fast))).status).toBe(503);
  expect(Date.now() - fast).toBeLessThan(1000); // known down: refused at once

  await broker.start();
  await waitFor("/readyz 200", async () => (await ready(ferry.url)) === 200, 60_000);
  const after = await postOrders(ferry.url, order(ids.after));
  expect(after.status).toBe(202);
  // The order answered 503 was dropped when ferry stopped waiting for it: no background retry sent it later.
  await Bun.sleep(2000);
  const keys = (await readTopic(kafka, topic)).map((m) => m.key);
  expect(keys.sort()).toEqual([ids.after, ids.before].sort());
  // One line when Kafka became unreachable, one when it was back.
  const states = ferry.stderr().split("\n").filter((l) => /kafka (unavailable|reachable again)/.test(l));
  expect(states.map((l) => JSON.parse(l).msg)).toEqual(["kafka unavailable", "kafka reachable again"]);
}, 120_000);
