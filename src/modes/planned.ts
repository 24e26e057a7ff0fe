/**
 * Modes whose config is declared (so --help, validation and exit codes already hold) but whose
 * work is not built yet: they answer "not implemented yet" with exit code 3.
 */
import * as v from "valibot";
import { dataDirField, logLevelField } from "../config/common.ts";
import { duration, int, list, num, oneOf, str } from "../config/fields.ts";
import { NotImplementedError } from "../errors.ts";
import { kafkaClientFields } from "../kafka/config.ts";
import { RECORD_KIND_NAMES } from "../schema/kinds.ts";
import { defineMode } from "./mode.ts";

const notYet = (name: string) => async () => {
  throw new NotImplementedError(name);
};

const topicField = (doc: string) => ({ topic: v.optional(str({ doc, placeholder: "TOPIC", min: 1 }), "orders") });
const kindField = { kind: v.optional(oneOf(RECORD_KIND_NAMES as ["orders", "cars"], { doc: "Record kind." }), "orders") };

export const generateMode = defineMode({
  name: "generate",
  summary: "Random (seeded) orders or cars into Kafka, an ingress URL, or the embedded table",
  config: v.object({
    ...kindField,
    count: v.optional(int({ doc: "How many records (default: endless until Ctrl-C).", min: 0 })),
    rate: v.optional(num({ doc: "Records per second (default: as fast as possible).", min: 0 })),
    seed: v.optional(int({ doc: "Seed: the same seed gives the same records.", min: 0 }), 1),
    invalidRatio: v.optional(num({ doc: "Share of deliberately invalid records.", min: 0, max: 1 }), 0),
    brokers: v.optional(kafkaClientFields.brokers),
    ...topicField("Topic to produce to (with --brokers)."),
    url: v.optional(str({ doc: "Ingress to post to instead of Kafka.", placeholder: "URL", pattern: /^https?:\/\//, patternHint: "must start with http:// or https://" })),
    ...dataDirField,
    ...logLevelField,
  }),
  run: notYet("generate"),
});

export const exportMode = defineMode({
  name: "export",
  summary: "Copy a Cassandra table into a Kafka topic (parallel token ranges)",
  config: v.object({
    cassandra: list({ doc: "Cassandra contact points.", placeholder: "HOST:PORT", min: 1 }),
    keyspace: str({ doc: "Keyspace of the table.", placeholder: "NAME", min: 1 }),
    table: str({ doc: "Table to export.", placeholder: "NAME", min: 1 }),
    ...kafkaClientFields,
    topic: str({ doc: "Topic to produce to.", placeholder: "TOPIC", min: 1 }),
    parallel: v.optional(int({ doc: "Token ranges scanned at once.", min: 1, max: 256 }), 4),
    pageSize: v.optional(int({ doc: "Rows per page.", min: 1 }), 5000),
    ...logLevelField,
  }),
  run: notYet("export"),
});
