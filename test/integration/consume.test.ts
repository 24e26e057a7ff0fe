/** `ferry consume` against the real broker: records produced by ferry serve come out as JSON lines. */
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { createKafka } from "../../src/kafka/client.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { TEST_BROKERS, uniqueName } from "../helpers/servers.ts";
import { produceTo } from "../helpers/topic-reader.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");

test("--from-beginning --max N prints N values as JSON lines; a non-JSON value is reported, not fatal", async () => {
  const topic = uniqueName("consume");
  const kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-test" }, memoryLogger().log);
  const values = [{ order_id: "a", n: 1 }, "not json", { order_id: "b", nested: { x: [1, 2] } }, { order_id: "c" }];
  await produceTo(kafka, topic, values.map((v) => ({ value: typeof v === "string" ? v : JSON.stringify(v, null, 2) })));

  const p = Bun.spawn([process.execPath, MAIN, "consume", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--from-beginning", "--max", "2"], { stdout: "pipe", stderr: "pipe" });
  const code = await Promise.race([p.exited, Bun.sleep(30_000).then(() => (p.kill(), -1))]);
  const out = await new Response(p.stdout).text();
  const err = await new Response(p.stderr).text();
  expect(code).toBe(0);
  expect(out).toBe('{"order_id":"a","n":1}\n{"order_id":"b","nested":{"x":[1,2]}}\n');
  expect(err).toMatch(/"level":"warn","msg":"record not printed".*"partition":0,"offset":"1"/);
}, 60_000);
