/**
 * `ferry serve` while its broker goes away and comes back: a broker of its own (ports 19092/19093,
 * started and stopped with scripts/services/kafka) so the shared one stays up for other tests.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { order, postOrders, startFerry, type FerryProcess } from "../../helpers/ferry-process.ts";
import { ownBroker } from "../../helpers/own-broker.ts";
import { SERVER_HOOK_TIMEOUT, uniqueName } from "../../helpers/servers.ts";

const broker = ownBroker(19092);

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

test("broker stopped → 503 with Retry-After within the produce timeout and /readyz 503; back → 202 without a restart", async () => {
  ferry = await startFerry(["serve", "--brokers", broker.address, "--topic", uniqueName("outage"), "--port", "0", "--produce-timeout", "3s"]);
  expect((await postOrders(ferry.url, order(uniqueName("before")))).status).toBe(202);

  await broker.stop();
  const started = Date.now();
  const during = await postOrders(ferry.url, order(uniqueName("during")));
  const took = Date.now() - started;
  expect(during.status).toBe(503);
  expect(Number(during.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(took).toBeLessThan(3000 + 2000); // bounded: never a hang
  await waitFor("/readyz 503", async () => (await ready(ferry.url)) === 503, 10_000);
  const fast = Date.now();
  expect((await postOrders(ferry.url, order(uniqueName("fast")))).status).toBe(503);
  expect(Date.now() - fast).toBeLessThan(1000); // known down: refused at once

  await broker.start();
  await waitFor("/readyz 200", async () => (await ready(ferry.url)) === 200, 60_000);
  const after = await postOrders(ferry.url, order(uniqueName("after")));
  expect(after.status).toBe(202);
}, 120_000);
