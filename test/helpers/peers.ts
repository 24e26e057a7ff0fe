/**
 * Other Kafka clients as peers in tests: Kafka's own Java tools (the broker's classpath, through
 * scripts/services/kafka) and librdkafka (Python confluent-kafka from PyPI, installed once into the
 * cache folder, like the servers).
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { runCommand } from "./command.ts";

const KAFKA = resolve(import.meta.dir, "../../scripts/services/kafka");
const CACHE = process.env.FERRY_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "ferry");
const PYTHON_LIBS = join(CACHE, "python-confluent-kafka-2.16.1");
const PYARROW_LIBS = join(CACHE, "python-pyarrow-22.0.0");

/** Runs a class of Kafka's own tools (e.g. the console consumer) with the broker's classpath; its stdout. */
export const kafkaTool = (mainClass: string, args: string[]) => runCommand(["bash", KAFKA, "tool", mainClass, ...args]);

/** The values of a topic as Kafka's own console consumer (Java) prints them. */
export async function javaConsume(brokers: string, topic: string, count: number): Promise<string[]> {
  const out = await kafkaTool("org.apache.kafka.tools.consumer.ConsoleConsumer", [
    "--bootstrap-server", brokers, "--topic", topic, "--from-beginning", "--max-messages", String(count), "--timeout-ms", "30000",
  ]);
  return out.split("\n").filter(Boolean);
}

/** The values of a topic as librdkafka (Python confluent-kafka) reads them. */
export async function librdkafkaConsume(brokers: string, topic: string, count: number): Promise<string[]> {
  if (!existsSync(join(PYTHON_LIBS, "confluent_kafka"))) {
    await runCommand(["python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", PYTHON_LIBS, "confluent-kafka==2.16.1"]);
  }
  const out = await runCommand(["python3", resolve(import.meta.dir, "librdkafka_consume.py"), brokers, topic, String(count)], { PYTHONPATH: PYTHON_LIBS });
  return out.split("\n").filter(Boolean);
}

/** The compression codec of every batch in a topic's first partition log, as Kafka's DumpLogSegments reports it. */
export async function batchCodecs(topic: string, partition = 0): Promise<string[]> {
  const dir = (await runCommand(["bash", KAFKA, "statedir"])).trim();
  const segment = join(dir, "data", `${topic}-${partition}`, "00000000000000000000.log");
  const out = await kafkaTool("kafka.tools.DumpLogSegments", ["--files", segment]);
  return [...out.matchAll(/compresscodec: (\w+)/g)].map((m) => m[1]!);
}

/**
 * A ferry lake on S3 as pyarrow reads it with its own S3 filesystem (pyarrow from PyPI, installed
 * once into the cache folder): rows, column types, (partition, offset) pairs and order ids.
 */
export async function pyarrowReadS3(s3: { endpoint: string; accessKeyId: string; secretAccessKey: string }, path: string) {
  if (!existsSync(join(PYARROW_LIBS, "pyarrow"))) {
    await runCommand(["python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", PYARROW_LIBS, "pyarrow==22.0.0"]);
  }
  const out = await runCommand(["python3", resolve(import.meta.dir, "pyarrow_read_s3.py"), s3.endpoint, s3.accessKeyId, s3.secretAccessKey, path], {
    PYTHONPATH: PYARROW_LIBS,
    // S3Proxy does not take the newer default checksums of the AWS SDK pyarrow uses.
    AWS_REQUEST_CHECKSUM_CALCULATION: "when_required",
    AWS_RESPONSE_CHECKSUM_VALIDATION: "when_required",
  });
  return JSON.parse(out) as { rows: number; types: Record<string, string>; offsets: [number, number][]; order_ids: string[] };
}
