/**
 * Modes whose config is declared (so --help, validation and exit codes already hold) but whose
 * work is not built yet: they answer "not implemented yet" with exit code 3.
 */
import * as v from "valibot";
import { logLevelField } from "../config/common.ts";
import { int, list, str } from "../config/fields.ts";
import { NotImplementedError } from "../errors.ts";
import { kafkaClientFields } from "../kafka/config.ts";
import { defineMode } from "./mode.ts";

const notYet = (name: string) => async () => {
  throw new NotImplementedError(name);
};


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
