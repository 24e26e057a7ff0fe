/** `ferry consume`: a topic's records as JSON lines on stdout. */
import * as v from "valibot";
import { logLevelField } from "../config/common.ts";
import { bool, int, str } from "../config/fields.ts";
import { DownstreamError, errorMessage } from "../errors.ts";
import { createKafka } from "../kafka/client.ts";
import { kafkaClientFields } from "../kafka/config.ts";
import { defineMode } from "./mode.ts";

export const consumeMode = defineMode({
  name: "consume",
  summary: "Print a topic's records as JSON lines on stdout",
  details:
    "Each record's value is printed as one line of JSON (compacted). A value that is not JSON is\n" +
    "reported on stderr with its partition and offset, and consuming goes on. Without --group nothing\n" +
    "is committed; with it, offsets are committed as records are printed.",
  config: v.object({
    ...kafkaClientFields,
    topic: str({ doc: "Topic to read.", placeholder: "TOPIC", min: 1 }),
    fromBeginning: v.optional(bool({ doc: "Start at the earliest offset (default: only new records)." }), false),
    max: v.optional(int({ doc: "Stop after printing this many records.", min: 1 })),
    group: v.optional(str({ doc: "Consumer group; offsets are committed (default: none, nothing committed).", placeholder: "GROUP", min: 1 })),
    ...logLevelField,
  }),
  async run(config, ctx) {
    const kafka = createKafka({ brokers: config.brokers, clientId: config.clientId }, ctx.log);
    const groupId = config.group ?? `ferry-consume-${process.pid}-${Date.now().toString(36)}`;
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    let printed = 0;
    let invalid = 0;
    let done: () => void = () => {};
    const finished = new Promise<void>((r) => (done = r));
    ctx.signal.addEventListener("abort", () => done(), { once: true });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: config.topic, fromBeginning: config.fromBeginning });
    } catch (e) {
      await consumer.disconnect().catch(() => {});
      throw new DownstreamError("kafka", `cannot consume ${config.topic}: ${errorMessage(e)}`, { cause: e });
    }
    await consumer.run({
      autoCommit: config.group !== undefined,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning }) => {
        let out = "";
        for (const m of batch.messages) {
          if (!isRunning() || (config.max !== undefined && printed >= config.max)) break;
          const text = m.value?.toString("utf8") ?? "null";
          try {
            out += `${JSON.stringify(JSON.parse(text))}\n`;
            printed++;
          } catch (e) {
            invalid++;
            ctx.log.warn("record is not JSON", { topic: batch.topic, partition: batch.partition, offset: m.offset, error: errorMessage(e) });
          }
          resolveOffset(m.offset);
        }
        if (out) ctx.out(out);
        await heartbeat();
        if (config.max !== undefined && printed >= config.max) done();
      },
    });
    await finished;
    await consumer.disconnect();
    ctx.log.info("consumed", { printed, invalid });
    return 0;
  },
});
