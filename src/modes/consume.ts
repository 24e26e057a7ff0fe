/** `ferry consume`: a topic's records as JSON lines on stdout. */
import * as v from "valibot";
import { logLevelField } from "../config/common.ts";
import { bool, int, str } from "../config/fields.ts";
import { DownstreamError, errorMessage } from "../errors.ts";
import { kafkaClientFields, schemaRegistryFields } from "../kafka/config.ts";
import type { SchemaRegistry } from "../kafka/registry.ts";
import { frameOf } from "../kafka/wire-format.ts";
import { defineMode } from "./mode.ts";

export const consumeMode = defineMode({
  name: "consume",
  summary: "Print a topic's records as JSON lines on stdout",
  details:
    "Each record's value is printed as one line of JSON (as written; compacted if it spans lines). A\n" +
    "Confluent-framed value (byte 0 + schema id) is unwrapped; with --schema-registry its schema is\n" +
    "fetched once per id and the value validated against it. A value that is not JSON or does not match\n" +
    "is reported on stderr with its partition, offset and why, and consuming goes on. Without --group\n" +
    "nothing is committed; with it, offsets are committed as records are printed.",
  config: v.object({
    ...kafkaClientFields,
    topic: str({ doc: "Topic to read.", placeholder: "TOPIC", min: 1 }),
    fromBeginning: v.optional(bool({ doc: "Start at the earliest offset (default: only new records)." }), false),
    max: v.optional(int({ doc: "Stop after printing this many records.", min: 1 })),
    group: v.optional(str({ doc: "Consumer group; offsets are committed (default: none, nothing committed).", placeholder: "GROUP", min: 1 })),
    ...schemaRegistryFields,
    ...logLevelField,
  }),
  async run(config, ctx) {
    const [{ connectFailure, createKafka }, { registryOf }, { corruptionOf }] = await Promise.all([import("../kafka/client.ts"), import("../kafka/registry.ts"), import("../kafka/fetch-response.ts")]);
    const kafka = createKafka(config, ctx.log);
    const registry = registryOf(config);
    const groupId = config.group ?? `ferry-consume-${process.pid}-${Date.now().toString(36)}`;
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    let printed = 0;
    let invalid = 0;
    let done: () => void = () => {};
    const finished = new Promise<void>((r) => (done = r));
    ctx.signal.addEventListener("abort", () => done(), { once: true });
    const started = Date.now();
    try {
      await consumer.connect();
    } catch (e) {
      await consumer.disconnect().catch(() => {});
      throw connectFailure(e, Date.now() - started);
    }
    try {
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
          const corrupt = corruptionOf(m);
          const line = corrupt ? { ok: false as const, reason: `${corrupt.reason} (offsets ${corrupt.firstOffset}-${corrupt.lastOffset} skipped)` } : await printable(m.value, registry);
          if (line.ok) {
            out += `${line.text}\n`;
            printed++;
          } else {
            invalid++;
            ctx.log.warn("record not printed", { topic: batch.topic, partition: batch.partition, offset: m.offset, error: line.reason });
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

/** A value as one line of JSON, or why it is not one (not JSON, unknown schema id, does not match its schema). */
async function printable(value: Buffer | null, registry: SchemaRegistry | undefined): Promise<{ ok: true; text: string } | { ok: false; reason: string }> {
  if (value === null) return { ok: true, text: "null" };
  const frame = frameOf(value);
  const text = (frame ? frame.payload : value).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `not JSON: ${errorMessage(e)}` };
  }
  if (frame && registry) {
    try {
      const mismatch = (await registry.check(frame.id))(json);
      if (mismatch) return { ok: false, reason: mismatch };
    } catch (e) {
      return { ok: false, reason: `schema id ${frame.id}: ${errorMessage(e)}` };
    }
  }
  // As written (numbers keep every digit), unless it spans lines.
  return { ok: true, text: /[\r\n]/.test(text) ? JSON.stringify(json) : text.trim() };
}
