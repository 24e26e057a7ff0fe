/**
 * The seam into kafkajs 2.2.4's internals (pinned in package.json). Every use of what kafkajs does
 * not export lives in this folder, src/kafka/kafkajs/, and test/unit/kafka/kafkajs/seam.test.ts
 * pins the version and checks that each internal below still exists with the shape used:
 *  - here: the Kafka client's private cluster factory (`Symbol('private:Kafka:createCluster')`),
 *    so that ferry's own idempotent producer (src/kafka/producer/) runs over kafkajs's cluster
 *    (metadata, broker connections with TLS and SASL, request queue);
 *  - Cluster: connect, disconnect, isConnected, refreshMetadata, addMultipleTargetTopics,
 *    findTopicPartitionMetadata, findBroker, findControllerBroker;
 *  - Broker: versions, initProducerId, connectionPool.send({ request, response }) with a request
 *    object of kafkajs's shape ({ apiKey, apiVersion, apiName, expectResponse, encode }) whose
 *    encode() returns anything with `buf` and `buffer` (what Encoder.writeEncoder reads);
 *  - protocol/error's table of error codes, for names and messages;
 *  - the Fetch v11 response module's `decode` (a property of the module object, looked up at
 *    every fetch), replaced by src/kafka/fetch-response.ts (no kafkajs code: it only has to give
 *    the shape kafkajs's consumer reads: partitions, messages with offset, isControlRecord and
 *    batchContext.{inTransaction, producerId, isControlBatch});
 *  - rejoin-hook.ts: ConsumerGroup.prototype.joinAndSync and its groupId, memberId, generationId;
 *  - negative-timeouts.ts: kafkajs's request queue's negative setTimeout delays (a global patch).
 */
import type { Kafka } from "kafkajs";
// @ts-expect-error kafkajs ships no types for its internals
import * as protocolErrors from "kafkajs/src/protocol/error.js";
// @ts-expect-error kafkajs ships no types for its internals
import fetchV11Response from "kafkajs/src/protocol/requests/fetch/v11/response.js";
import { decodeFetchV11 } from "../fetch-response.ts";

export interface PartitionMetadata {
  partitionId: number;
  leader: number;
  partitionErrorCode: number;
}

export interface InternalBroker {
  nodeId: number;
  versions: Record<number, { minVersion: number; maxVersion: number }> | null;
  initProducerId(args: { transactionalId?: string; transactionTimeout: number }): Promise<{ producerId: string; producerEpoch: number }>;
  connectionPool: { send(req: { request: RawRequest; response: RawResponse<unknown>; requestTimeout?: number }): Promise<unknown> };
  disconnect(): Promise<void>;
}

export interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  refreshMetadata(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findTopicPartitionMetadata(topic: string): PartitionMetadata[];
  findBroker(args: { nodeId: number }): Promise<InternalBroker>;
  findControllerBroker(): Promise<InternalBroker>;
}

export interface RawRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse: () => boolean;
  encode: () => Promise<{ buf: Buffer; buffer: Buffer }>;
}

export interface RawResponse<T> {
  decode(payload: Buffer): Promise<T>;
  parse(decoded: T): Promise<T>;
}

type ClusterFactory = (opts: { maxInFlightRequests: number | null; allowAutoTopicCreation: boolean; metadataMaxAge?: number }) => InternalCluster;

/** A new cluster (its own connections) with the client's settings. */
export function createCluster(kafka: Kafka): InternalCluster {
  const key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === "private:Kafka:createCluster");
  const factory = key && (kafka as unknown as Record<symbol, ClusterFactory>)[key];
  if (typeof factory !== "function") throw new Error("kafkajs internals changed: no private cluster factory (ferry pins kafkajs 2.2.4)");
  return factory.call(kafka, { maxInFlightRequests: null, allowAutoTopicCreation: false });
}

/** Sends a request ferry encoded itself over a broker's connection; resolves with the decoded response. */
export function sendRaw<T>(broker: InternalBroker, request: RawRequest, response: RawResponse<T>, requestTimeout?: number): Promise<T> {
  return broker.connectionPool.send({ request, response: response as RawResponse<unknown>, requestTimeout }) as Promise<T>;
}

export interface KafkaErrorCode {
  type: string;
  code: number;
  retriable: boolean;
  message: string;
}

const codes = new Map<number, KafkaErrorCode>((protocolErrors.errorCodes as KafkaErrorCode[]).map((e) => [e.code, e]));

/** Kafka's name and message for a protocol error code. */
export function kafkaErrorCode(code: number): KafkaErrorCode {
  return codes.get(code) ?? { type: `UNKNOWN_ERROR_${code}`, code, retriable: false, message: `Kafka error code ${code}` };
}

/** Fetch v11 (what kafkajs uses with Kafka 2.3+) decoded by ferry's decoder; idempotent. */
export function installFetchDecoder(): void {
  const module = fetchV11Response as { decode: unknown };
  if (typeof module.decode !== "function") throw new Error("kafkajs internals changed: fetch v11 response has no decode (ferry pins kafkajs 2.2.4)");
  module.decode = decodeFetchV11;
}

/** kafkajs's own Fetch v11 decoder (tests compare it with ferry's). */
export const kafkajsFetchV11Decode: (raw: Buffer) => Promise<unknown> = (fetchV11Response as { decode: (raw: Buffer) => Promise<unknown> }).decode;
