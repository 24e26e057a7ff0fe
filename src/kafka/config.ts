/** Config of the Kafka client, shared by every mode that talks to Kafka. */
import * as v from "valibot";
import { bool, duration, list, oneOf, str } from "../config/fields.ts";
import { COMPRESSIONS } from "./codecs/compress.ts";

export const SASL_MECHANISMS = ["plain", "scram-sha-256", "scram-sha-512"] as const;

/** How ferry reaches a secured cluster: TLS and SASL. */
export const kafkaSecurityFields = {
  kafkaTls: v.optional(bool({ doc: "Connect to Kafka over TLS (the broker's name is checked against its certificate)." }), false),
  kafkaCa: v.optional(str({ doc: "PEM file of the CA(s) that signed the brokers' certificates (default: the system's CAs). Implies --kafka-tls.", placeholder: "FILE", min: 1 })),
  kafkaCert: v.optional(str({ doc: "PEM client certificate for mutual TLS (with --kafka-key). Implies --kafka-tls.", placeholder: "FILE", min: 1 })),
  kafkaKey: v.optional(str({ doc: "PEM private key of --kafka-cert.", placeholder: "FILE", min: 1 })),
  saslMechanism: v.optional(oneOf(SASL_MECHANISMS, { doc: "SASL mechanism to log in with (needs --sasl-username and a password)." })),
  saslUsername: v.optional(str({ doc: "SASL user name.", placeholder: "USER", min: 1 })),
  saslPassword: v.optional(str({ doc: "SASL password. A flag shows in /proc to every local user: prefer FERRY_SASL_PASSWORD or --sasl-password-file.", placeholder: "PASSWORD", secret: true })),
  saslPasswordFile: v.optional(str({ doc: "File holding the SASL password (one line; a trailing newline is ignored).", placeholder: "FILE", min: 1 })),
};

export const kafkaClientFields = {
  brokers: list({
    doc: "Kafka bootstrap servers, comma-separated or repeated.",
    placeholder: "HOST:PORT",
    min: 1,
    itemPattern: /^[^\s:,]+:\d{1,5}$/,
    itemHint: "each broker must look like host:port",
  }),
  clientId: v.optional(str({ doc: "Kafka client id.", placeholder: "ID", min: 1 }), "ferry"),
  ...kafkaSecurityFields,
};

type Security = { [K in keyof typeof kafkaSecurityFields]?: v.InferOutput<(typeof kafkaSecurityFields)[K]> };

/** What createKafka needs from a mode's config. */
export interface KafkaClientConfig extends Security {
  brokers: string[];
  clientId: string;
}

/** `--compression`: how ferry's producer compresses record batches (every consumer of Kafka reads each codec). */
export const compressionField = {
  compression: v.optional(oneOf(COMPRESSIONS, { doc: "Compression of the record batches ferry produces." }), "none"),
};

/** How long a batch-producing mode (generate, export, the sink's dead letters) waits for Kafka's acknowledgement. */
export const produceTimeoutField = {
  produceTimeout: v.optional(
    duration({
      doc: "Records Kafka has not acknowledged by then end the run with an error (across broker restarts it keeps trying until then; records not yet sent are never sent after it).",
      min: 1,
    }),
    120_000,
  ),
};

/** `--schema-registry URL`: a Confluent-compatible Schema Registry (JSON Schema, Confluent wire format). */
export const schemaRegistryFields = {
  schemaRegistry: v.optional(
    str({
      doc: "Confluent-compatible Schema Registry: values are framed with their JSON Schema's id (producers register <topic>-value; consumers validate).",
      placeholder: "URL",
      pattern: /^https?:\/\//,
      patternHint: "must start with http:// or https://",
    }),
  ),
  registryTimeout: v.optional(
    duration({ doc: "How long ferry retries a registry that refuses connections or answers 5xx (as one does while it starts).", min: 1 }),
    30_000,
  ),
};

/** How producers pick the schema id they frame with (Confluent's auto.register.schemas and use.latest.version). */
export const registryProducerFields = {
  ...schemaRegistryFields,
  registryAutoRegister: v.optional(
    bool({ doc: "Register ferry's schema under <topic>-value (--no-registry-auto-register: it must be registered already; Confluent's auto.register.schemas=false)." }),
    true,
  ),
  registryUseLatest: v.optional(
    bool({ doc: "Frame values with the subject's latest schema, whoever registered it, checking each value against it (Confluent's use.latest.version=true)." }),
    false,
  ),
};
