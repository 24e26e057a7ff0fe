/**
 * The guard of the seam into kafkajs's internals (src/kafka/kafkajs/): the pinned version, and
 * every internal ferry touches, still there with the shape used. An upgrade of kafkajs that moves
 * any of it fails here, by name, instead of in production. Also: no file outside that folder
 * reaches into kafkajs/src.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Kafka, logLevel } from "kafkajs";
// @ts-expect-error kafkajs ships no types for its internals
import Broker from "kafkajs/src/broker/index.js";
// @ts-expect-error kafkajs ships no types for its internals
import Batch from "kafkajs/src/consumer/batch.js";
// @ts-expect-error kafkajs ships no types for its internals
import ConsumerGroup from "kafkajs/src/consumer/consumerGroup.js";
// @ts-expect-error kafkajs ships no types for its internals
import ConnectionPool from "kafkajs/src/network/connectionPool.js";
// @ts-expect-error kafkajs ships no types for its internals
import Encoder from "kafkajs/src/protocol/encoder.js";
// @ts-expect-error kafkajs ships no types for its internals
import * as protocolErrors from "kafkajs/src/protocol/error.js";
// @ts-expect-error kafkajs ships no types for its internals
import fetchRequests from "kafkajs/src/protocol/requests/fetch/index.js";
// @ts-expect-error kafkajs ships no types for its internals
import fetchV11Response from "kafkajs/src/protocol/requests/fetch/v11/response.js";
import { decodeFetchV11 } from "../../../../src/kafka/fetch-response.ts";
import { createCluster, installFetchDecoder, kafkaErrorCode } from "../../../../src/kafka/kafkajs/internals.ts";
import { silenceRuntimeWarnings } from "../../../../src/kafka/kafkajs/negative-timeouts.ts";
import { onBeforeRejoin } from "../../../../src/kafka/kafkajs/rejoin-hook.ts";
import { encodeBatch } from "../../../helpers/hostile/record-batches.ts";

const ROOT = resolve(import.meta.dir, "../../../..");
const source = (path: string) => readFileSync(join(ROOT, "node_modules/kafkajs/src", path), "utf8");
/** The pieces of kafkajs source text that a file no longer holds (named, not the whole text, on failure). */
const missingIn = (path: string, pieces: string[]) => pieces.filter((p) => !source(path).includes(p)).map((p) => `${path}: ${p}`);
const methods = (o: object, names: string[]): Record<string, string> => Object.fromEntries(names.map((n) => [n, typeof (o as Record<string, unknown>)[n]]));
const allFunctions = (names: string[]) => Object.fromEntries(names.map((n) => [n, "function"]));

describe("the kafkajs seam", () => {
  test("kafkajs is pinned at 2.2.4, in package.json and installed", () => {
    expect(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).dependencies.kafkajs).toBe("2.2.4");
    expect(JSON.parse(readFileSync(join(ROOT, "node_modules/kafkajs/package.json"), "utf8")).version).toBe("2.2.4");
  });

  test("only src/kafka/kafkajs/ reaches into kafkajs/src", () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.ts$/.test(e.name) && /kafkajs\/src\//.test(readFileSync(p, "utf8")) && !relative(ROOT, p).startsWith("src/kafka/kafkajs/")) offenders.push(relative(ROOT, p));
      }
    };
    walk(join(ROOT, "src"));
    expect(offenders).toEqual([]);
  });

  test("the client's private cluster factory gives a cluster with the methods the producer uses", async () => {
    const kafka = new Kafka({ brokers: ["127.0.0.1:1"], logLevel: logLevel.NOTHING });
    expect(Object.getOwnPropertySymbols(kafka).map((s) => s.description)).toContain("private:Kafka:createCluster");
    const cluster = createCluster(kafka);
    const used = ["connect", "disconnect", "isConnected", "refreshMetadata", "addMultipleTargetTopics", "findTopicPartitionMetadata", "findBroker", "findControllerBroker"];
    expect(methods(cluster, used)).toEqual(allFunctions(used));
    expect(cluster.isConnected()).toBe(false);
  });

  test("Broker: versions, initProducerId, connectionPool.send; requests of kafkajs's shape; Encoder.writeEncoder reads buf and buffer", () => {
    expect(methods(Broker.prototype, ["initProducerId", "disconnect"])).toEqual(allFunctions(["initProducerId", "disconnect"]));
    expect(missingIn("broker/index.js", ["this.connectionPool = connectionPool", "this.versions = versions"])).toEqual([]);
    expect(typeof ConnectionPool.prototype.send).toBe("function");
    expect(missingIn("network/connection.js", ["request.expectResponse()", "await request.encode()", "const { apiKey, apiName, apiVersion } = request"])).toEqual([]);
    const payload = new Encoder().writeInt32(7);
    expect(new Encoder().writeEncoder({ buf: payload.buf, buffer: payload.buffer }).buffer.readInt32BE(0)).toBe(7);
  });

  test("protocol/error's table of error codes", () => {
    expect(Array.isArray(protocolErrors.errorCodes)).toBe(true);
    expect(protocolErrors.errorCodes.find((e: { code: number }) => e.code === 10)).toMatchObject({ type: "MESSAGE_TOO_LARGE", code: 10, retriable: false, message: expect.any(String) });
    expect(kafkaErrorCode(45)).toMatchObject({ type: "OUT_OF_ORDER_SEQUENCE_NUMBER" });
  });

  test("Fetch v11: the response module the consumer uses has a replaceable decode, and ferry's is installed", () => {
    expect(fetchRequests.protocol({ version: 11 })({ maxWaitTime: 1, minBytes: 1, maxBytes: 1, topics: [] }).response).toBe(fetchV11Response);
    expect(typeof fetchV11Response.parse).toBe("function");
    installFetchDecoder();
    expect(fetchV11Response.decode).toBe(decodeFetchV11);
  });

  test("the consumer's Batch keeps ferry's messages at or past the fetched offset (pointers included), drops control records and aborted ones", async () => {
    const data = encodeBatch(
      [
        { key: null, value: Buffer.from("a"), headers: [] },
        { key: null, value: Buffer.from("b"), headers: [] },
      ],
      "none",
      10n,
    );
    const decoded = await decodeFetchV11(fetchResponse(data));
    const partition = decoded.responses[0]!.partitions[0]!;
    const pointer = { ...partition.messages[0]!, offset: "12", corrupt: { reason: "x" } };
    const batch = new Batch("t", "11", { ...partition, messages: [...partition.messages, pointer, { ...partition.messages[0]!, offset: "13", isControlRecord: true }] });
    expect(batch.messages.map((m: { offset: string }) => m.offset)).toEqual(["11", "12"]);
    expect(batch.messages[1].corrupt).toEqual({ reason: "x" });
    const aborted = new Batch("t", "10", { ...partition, abortedTransactions: [{ producerId: "7", firstOffset: "10" }], messages: partition.messages.map((m) => ({ ...m, batchContext: { ...m.batchContext, inTransaction: true } })) });
    expect(aborted.messages).toEqual([]);
  });

  test("ConsumerGroup.joinAndSync, with groupId, memberId and generationId, is what the rejoin hook wraps", async () => {
    expect(typeof ConsumerGroup.prototype.joinAndSync).toBe("function");
    expect(missingIn("consumer/consumerGroup.js", ["this.groupId = groupId", "this.memberId = groupData.memberId", "this.generationId = groupData.generationId", "joinAndSync() {"])).toEqual([]);
    const calls: boolean[] = [];
    const remove = onBeforeRejoin("seam-group", async (stillMember) => void calls.push(stillMember));
    // The wrapper runs the hook, then kafkajs's own (which fails here: no cluster).
    await ConsumerGroup.prototype.joinAndSync.call({ groupId: "seam-group", memberId: "m-1", generationId: 3 }).catch(() => {});
    remove();
    expect(calls).toEqual([true]);
  });

  test("kafkajs's request queue schedules with the global setTimeout, which the patch clamps at 1 ms", async () => {
    expect(missingIn("network/requestQueue/index.js", ["setTimeout("])).toEqual([]);
    silenceRuntimeWarnings();
    silenceRuntimeWarnings(); // once only
    const t0 = performance.now();
    await new Promise<void>((r) => setTimeout(r, -50));
    expect(performance.now() - t0).toBeLessThan(50);
    expect((globalThis.setTimeout as { ferryClamped?: boolean }).ferryClamped).toBe(true);
  });
});

/** A Fetch v11 response: topic "t", partition 0, these records. */
function fetchResponse(records: Buffer): Buffer {
  const head = Buffer.alloc(4 + 2 + 4 + 4 + 2 + 1 + 4);
  let o = head.writeInt32BE(0, 0);
  o = head.writeInt16BE(0, o);
  o = head.writeInt32BE(0, o);
  o = head.writeInt32BE(1, o);
  o = head.writeInt16BE(1, o);
  o += head.write("t", o);
  head.writeInt32BE(1, o);
  const p = Buffer.alloc(4 + 2 + 8 * 3 + 4 + 4 + 4);
  let q = p.writeInt32BE(0, 0);
  q = p.writeInt16BE(0, q);
  q = p.writeBigInt64BE(100n, q);
  q = p.writeBigInt64BE(100n, q);
  q = p.writeBigInt64BE(0n, q);
  q = p.writeInt32BE(-1, q);
  q = p.writeInt32BE(-1, q);
  p.writeInt32BE(records.length, q);
  return Buffer.concat([head, p, records]);
}
