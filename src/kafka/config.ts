/** Config of the Kafka client, shared by every mode that talks to Kafka. */
import * as v from "valibot";
import { list, str } from "../config/fields.ts";

export const kafkaClientFields = {
  brokers: list({
    doc: "Kafka bootstrap servers, comma-separated or repeated.",
    placeholder: "HOST:PORT",
    min: 1,
    itemPattern: /^[^\s:,]+:\d{1,5}$/,
    itemHint: "each broker must look like host:port",
  }),
  clientId: v.optional(str({ doc: "Kafka client id.", placeholder: "ID", min: 1 }), "ferry"),
};

/** `--schema-registry URL`: a Confluent-compatible Schema Registry (JSON Schema, Confluent wire format). */
export const schemaRegistryField = {
  schemaRegistry: v.optional(
    str({
      doc: "Confluent-compatible Schema Registry: values are framed with their JSON Schema's id (producers register <topic>-value; consumers validate).",
      placeholder: "URL",
      pattern: /^https?:\/\//,
      patternHint: "must start with http:// or https://",
    }),
  ),
};
