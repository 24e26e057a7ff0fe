/**
 * The idempotent producer's rules, against a fake broker that keeps Kafka's sequence rules and
 * fails requests on purpose: an acknowledged record is in the log whatever fails; a send past its
 * deadline is rejected and its unsent records are never sent; a refused batch fails only its
 * senders.
 */
import { describe, expect, test } from "bun:test";
import { Availability } from "../../../../src/kafka/availability.ts";
import { IdempotentProducer } from "../../../../src/kafka/producer/producer.ts";
import { DownstreamError } from "../../../../src/errors.ts";
import { UnavailableError } from "../../../../src/pipeline/errors.ts";
import { memoryLogger } from "../../../helpers/logger.ts";
import { FakeKafka, type Fault } from "./fake-cluster.ts";

async function producerOn(fake: FakeKafka, level: "warn" | "notice" = "warn") {
  const { log, lines } = memoryLogger(level);
  const p = new IdempotentProducer(fake.cluster(), new Availability(log), log, { maxBatchBytes: 2000, retryBackoffMs: { initial: 5, max: 20 } });
  await p.connect(["t"]);
  return { p, lines };
}

/** Sends `n` single-record orders from `concurrency` callers; returns the ids acknowledged. */
async function load(p: IdempotentProducer, n: number, concurrency: number, timeoutMs?: number) {
  const acked: string[] = [];
  const failed: unknown[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const id = `o-${next++}`;
        try {
          await p.send("t", [{ key: id, value: id }], timeoutMs);
          acked.push(id);
        } catch (e) {
          failed.push(e);
        }
      }
    }),
  );
  return { acked, failed };
}

describe("idempotent producer", () => {
  test("no fault: every record once, keys stay in their partition in order", async () => {
    const fake = new FakeKafka({ t: 3 });
    const { p } = await producerOn(fake);
    const { acked } = await load(p, 2000, 32);
    expect(acked.length).toBe(2000);
    expect(fake.all("t").sort()).toEqual(acked.sort());
    expect(fake.requests).toBeLessThan(2000); // batched
    await p.close(1000);
  });

  for (const fault of ["drop-after-write", "drop-before-write", { errorCode: 6 }] as Fault[]) {
    test(`a failing request (${JSON.stringify(fault)}) among many in flight loses no acknowledged record`, async () => {
      const fake = new FakeKafka({ t: 3 });
      fake.faultOf = (n) => (n % 7 === 3 ? fault : "none");
      const { p } = await producerOn(fake);
      const { acked, failed } = await load(p, 3000, 64);
      expect(failed).toEqual([]);
      expect(acked.length).toBe(3000);
      const written = new Set(fake.all("t"));
      expect(acked.filter((id) => !written.has(id))).toEqual([]);
      if (fault === "drop-after-write") expect(fake.all("t").length).toBeGreaterThan(3000); // duplicates, not losses
      else expect(fake.all("t").length).toBe(3000);
      expect(fake.producerIds).toBeGreaterThan(1); // retired and renewed
      await p.close(1000);
    });
  }

  test("order per key holds across failures (duplicates only repeat a prefix)", async () => {
    const fake = new FakeKafka({ t: 1 });
    fake.faultOf = (n) => (n % 5 === 2 ? "drop-after-write" : "none");
    const { p } = await producerOn(fake);
    const sends = Array.from({ length: 500 }, (_, i) => p.send("t", [{ key: "same", value: String(i) }]));
    await Promise.all(sends);
    const log = fake.all("t").map(Number);
    // Every first occurrence comes in increasing order.
    const seen = new Set<number>();
    const firsts = log.filter((v) => !seen.has(v) && seen.add(v));
    expect(firsts).toEqual(Array.from({ length: 500 }, (_, i) => i));
    await p.close(1000);
  });

  test("past its deadline a send is rejected, its records are never sent, and the outage is two log lines", async () => {
    const fake = new FakeKafka({ t: 2 });
    const { p, lines } = await producerOn(fake, "notice");
    await p.send("t", [{ key: "before", value: "before" }]);
    fake.down = true;
    const late = p.send("t", [{ key: "late", value: "late" }], 150);
    await expect(late).rejects.toBeInstanceOf(UnavailableError);
    await late.catch(() => {});
    await Bun.sleep(200);
    fake.down = false;
    await p.send("t", [{ key: "after", value: "after" }], 5000);
    await p.flush();
    expect(fake.all("t").sort()).toEqual(["after", "before"]);
    const states = lines.map((l) => JSON.parse(l).msg);
    expect(states).toEqual(["kafka unavailable", "kafka reachable again"]);
    await p.close(1000);
  });

  test("a batch the broker refuses (MESSAGE_TOO_LARGE) fails its senders only", async () => {
    const fake = new FakeKafka({ t: 1 });
    fake.faultOf = (n) => (n === 1 ? { errorCode: 10 } : "none");
    const { p } = await producerOn(fake);
    const first = p.send("t", [{ key: "a", value: "refused" }]);
    await expect(first).rejects.toBeInstanceOf(DownstreamError);
    await expect(first).rejects.toThrow(/MESSAGE_TOO_LARGE/);
    await first.catch(() => {});
    await p.send("t", [{ key: "a", value: "ok" }]);
    expect(fake.all("t")).toEqual(["ok"]);
    await p.close(1000);
  });

  test("close fails what Kafka did not acknowledge in time", async () => {
    const fake = new FakeKafka({ t: 1 });
    const { p, lines } = await producerOn(fake);
    fake.down = true;
    const pending = p.send("t", [{ key: "x", value: "x" }]);
    await p.close(100);
    await expect(pending).rejects.toBeInstanceOf(UnavailableError);
    expect(lines.some((l) => l.includes("records still unacknowledged at shutdown"))).toBe(true);
  });
});
