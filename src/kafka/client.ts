/**
 * The Kafka client factory: the only place that builds a kafkajs client, with TLS and SASL.
 * kafkajs's own logs all go to debug: it logs every retry and every error answer it handles
 * itself (thousands of lines with stack traces during an outage). ferry says what matters once:
 * producers through Availability (one line when Kafka becomes unreachable, one when it is back),
 * connects through connectFailure (one error naming what was tried).
 */
import type { ConnectionOptions } from "node:tls";
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type logCreator, type SASLOptions } from "kafkajs";
import { readConfigFile, secretOf } from "../config/files.ts";
import { ConfigError, DownstreamError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { KafkaClientConfig } from "./config.ts";
import { describeKafkaError } from "./describe-error.ts";
import { installFetchDecoder } from "./kafkajs/internals.ts";

function routeLogs(log: Logger): logCreator {
  return () =>
    ({ log: entry }) => {
      const { message, stack: _stack, ...fields } = entry as { message: unknown; stack?: unknown };
      log.debug(`kafkajs: ${String(message)}`, fields);
    };
}

/** The TLS options of a config, or undefined for plaintext. Files are read here, once. */
function tlsOf(c: KafkaClientConfig): ConnectionOptions | undefined {
  if (!c.kafkaTls && !c.kafkaCa && !c.kafkaCert && !c.kafkaKey) return undefined;
  if (Boolean(c.kafkaCert) !== Boolean(c.kafkaKey)) throw new ConfigError("--kafka-cert and --kafka-key go together (mutual TLS needs both)");
  return {
    rejectUnauthorized: true,
    ...(c.kafkaCa ? { ca: [readConfigFile(c.kafkaCa, "kafka-ca")] } : {}),
    ...(c.kafkaCert ? { cert: readConfigFile(c.kafkaCert, "kafka-cert"), key: readConfigFile(c.kafkaKey!, "kafka-key") } : {}),
  };
}

function saslOf(c: KafkaClientConfig): SASLOptions | undefined {
  if (!c.saslMechanism) {
    if (c.saslUsername || c.saslPassword || c.saslPasswordFile) throw new ConfigError("--sasl-username and a SASL password need --sasl-mechanism (plain, scram-sha-256 or scram-sha-512)");
    return undefined;
  }
  if (!c.saslUsername) throw new ConfigError(`--sasl-mechanism ${c.saslMechanism} needs --sasl-username`);
  const password = secretOf(c.saslPassword, c.saslPasswordFile, "sasl-password");
  if (password === undefined) throw new ConfigError(`--sasl-mechanism ${c.saslMechanism} needs a password: FERRY_SASL_PASSWORD, --sasl-password-file or --sasl-password`);
  return { mechanism: c.saslMechanism, username: c.saslUsername, password } as SASLOptions;
}

/** Builds the client; a bad TLS/SASL setting or an unreadable file is a ConfigError (exit 2). */
export function createKafka(c: KafkaClientConfig, log: Logger): Kafka {
  installFetchDecoder();
  const config: KafkaConfig = {
    clientId: c.clientId,
    brokers: c.brokers,
    ssl: tlsOf(c),
    sasl: saslOf(c),
    connectionTimeout: 3000,
    authenticationTimeout: 5000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    logLevel: log.enabled("debug") ? KafkaLogLevel.DEBUG : KafkaLogLevel.WARN,
    logCreator: routeLogs(log),
  };
  return new Kafka(config);
}

const TLS_TRUST = /self[- ]signed|unable to (get|verify)|certificate (has expired|is not yet valid)|CERT_|UNABLE_TO_|DEPTH_ZERO/i;
const TLS_NAME = /altnames|hostname|ERR_TLS_CERT_ALTNAME|does not match/i;
const TLS_CLIENT_CERT = /BAD_CERTIFICATE|CERTIFICATE_REQUIRED|alert certificate required/i;

/**
 * One line for a failed connect: what kind of failure it is (refused, TLS trust, TLS name, login,
 * a listener speaking another protocol), and how long ferry tried.
 */
export function connectFailure(e: unknown, triedMs: number): DownstreamError {
  if (e instanceof DownstreamError || e instanceof ConfigError) return e as DownstreamError;
  const msg = describeKafkaError(e);
  const name = (e as { name?: string }).name ?? "";
  const code = (e as { originalError?: { code?: string } }).originalError?.code ?? (e as { code?: string }).code ?? "";
  const tried = `(tried for ${(triedMs / 1000).toFixed(1)} s)`;
  let why: string;
  if (name === "KafkaJSSASLAuthenticationError" || /SASL|authentication/i.test(msg)) why = `SASL login refused: ${msg}`;
  else if (TLS_CLIENT_CERT.test(msg)) why = `TLS: the broker refused ferry's client certificate (mutual TLS: give --kafka-cert and --kafka-key it trusts): ${msg}`;
  else if (TLS_NAME.test(`${code} ${msg}`)) why = `TLS: the broker's certificate does not name the host ferry connected to: ${msg}`;
  else if (TLS_TRUST.test(`${code} ${msg}`)) why = `TLS: the broker's certificate is not trusted (give its CA with --kafka-ca): ${msg}`;
  else if (/ECONNREFUSED/.test(`${code} ${msg}`)) why = `connection refused: ${msg}`;
  else if (/Closed connection|socket hang up|ECONNRESET|disconnected before|Request .* timed out|EPIPE/i.test(msg))
    why = `the broker closed the connection or never answered: ${msg}. Is it a TLS (--kafka-tls) or SASL (--sasl-mechanism) listener, or does it not speak TLS?`;
  else why = msg;
  return new DownstreamError("kafka", `cannot connect: ${why} ${tried}`, { cause: e });
}
