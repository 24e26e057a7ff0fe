/**
 * ferry's idempotent producer (acks=all), over kafkajs's cluster and connections.
 *
 * Why not kafkajs's own: it moves a partition's sequence back when a request fails with an
 * unknown outcome, so another send() can go out under a sequence range the broker already holds
 * and be answered as a (successful) duplicate without being written: acknowledged records lost
 * after a broker crash. The rule here instead:
 *
 *  - Under one producer id a sequence number is used for one set of records, once. A batch is
 *    never resent under the same id, so a success answer (or DUPLICATE_SEQUENCE_NUMBER) for a
 *    batch can only mean that batch is in the log.
 *  - Any failed batch (lost connection, timeout, an error answer) retires the producer id: no new
 *    batch goes out, the requests in flight are waited for, and then a new id is fetched
 *    (InitProducerId) and every unacknowledged record is queued again, in its original order,
 *    ahead of newer ones. A record whose first attempt was written after all appears twice
 *    (at-least-once); a record is never reported acknowledged without a success answer for it.
 *  - A send has a deadline. A record whose send is past its deadline is never sent (again): if
 *    it was not yet in a request it is dropped from the queue; if it was in flight, whatever the
 *    broker did stands, and it is not resent. No retry goes on in the background after the
 *    caller was told "not acknowledged".
 *
 * Records are partitioned at send time (murmur2 of the key, Kafka's default; keyless records
 * round-robin per send), queued per partition, and each broker gets up to `maxInFlightPerBroker`
 * produce requests at once, each carrying at most one batch per partition, each batch at most
 * `maxBatchBytes`. Under load batches grow by themselves: while requests are in flight, records
 * gather.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { DownstreamError } from "../../errors.ts";
import type { Logger } from "../../log/logger.ts";
import { UnavailableError } from "../../pipeline/errors.ts";
import type { FlushObserver } from "../../pipeline/coalescer.ts";
import { compressorOf, type Compression, type Compressor } from "../codecs/compress.ts";
import type { Availability } from "../availability.ts";
import { describeKafkaError } from "../describe-error.ts";
import { kafkaErrorCode, sendRaw, type InternalCluster } from "../kafkajs/internals.ts";
import { untilTopicsKnown } from "../topics.ts";
import { partitionOfKey } from "./murmur2.ts";
import { encodeProduceBody, PRODUCE_API_KEY, PRODUCE_VERSION, produceRequest, produceResponse, type PartitionBatch } from "./produce-request.ts";
import { byteLength, encodeRecordBatch, recordSize, type ProducerRecord, type SizedRecord } from "./record-batch.ts";

export type { ProducerRecord } from "./record-batch.ts";

export interface ProducerOptions {
  /** Most bytes of records in one partition's batch (the broker's max.message.bytes is 1 MiB by default). */
  maxBatchBytes?: number;
  /** Most records in one partition's batch. */
  maxBatchRecords?: number;
  /**
   * How long a partition's records may wait for more before their batch goes (like Kafka's
   * linger.ms). 0: adaptive, a batch goes as soon as a request slot is free, and grows with load.
   */
  lingerMs?: number;
  /** Observes each produce request: its records, how long it took, and its error if it failed. */
  onRequest?: FlushObserver;
  /** Compresses each batch's records (default: none). */
  compression?: Compression;
  maxInFlightPerBroker?: number;
  /** How long the broker may wait for the in-sync replicas (the request's timeout field). */
  ackTimeoutMs?: number;
  /** Back-off between attempts to get a new producer id while Kafka is unreachable. */
  retryBackoffMs?: { initial: number; max: number };
}

/** Error codes that say the records themselves are refused: retrying cannot help. */
const REFUSED_RECORDS = new Set([2, 10, 18, 21, 29, 32, 43, 44, 76, 87]);
const SUCCESS = 0;
const DUPLICATE_SEQUENCE_NUMBER = 46;
const MAX_SEQUENCE = 2 ** 31;

class Ticket {
  done = false;
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly queuedAt = performance.now();
  constructor(
    public remaining: number,
    private readonly resolveFn: () => void,
    private readonly rejectFn: (e: unknown) => void,
  ) {}
  ack(n: number): void {
    if (this.done) return;
    this.remaining -= n;
    if (this.remaining <= 0) this.settle();
  }
  fail(e: unknown): void {
    if (this.done) return;
    this.settle(e);
  }
  private settle(e?: unknown): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    if (e === undefined) this.resolveFn();
    else this.rejectFn(e);
  }
}

/** A record waiting for its acknowledgement, with the send it belongs to. */
interface Queued extends SizedRecord {
  ticket: Ticket;
}

interface InFlightBatch {
  part: PartitionState;
  records: Queued[];
}

/** A FIFO with O(1) removal at the head. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  /** Puts `items` before everything queued, in their order. */
  unshiftAll(items: readonly T[]): void {
    if (items.length === 0) return;
    this.items = [...items, ...this.items.slice(this.head)];
    this.head = 0;
  }
}

class PartitionState {
  readonly queue = new Fifo<Queued>();
  queuedBytes = 0;
  readonly inFlight: InFlightBatch[] = [];
  nextSequence = 0;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
}

type State = "ready" | "retiring" | "renewing" | "closed";

export class IdempotentProducer {
  private readonly maxBatchBytes: number;
  private readonly maxBatchRecords: number;
  private readonly compressor: Compressor | undefined;
  private readonly lingerMs: number;
  private lingerTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly maxInFlightPerBroker: number;
  private readonly ackTimeoutMs: number;
  private readonly backoff: { initial: number; max: number };
  private state: State = "renewing";
  private producerId = -1n;
  private producerEpoch = 0;
  private readonly partitions = new Map<string, PartitionState[]>();
  private readonly leaders = new Map<string, number[]>();
  private readonly waiting = new Set<PartitionState>();
  private readonly brokerRequests = new Map<number, number>();
  private requestsInFlight = 0;
  private recordsInFlight = 0;
  private pumpScheduled = false;
  private roundRobin = 0;
  private retireReason = "";
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly cluster: InternalCluster,
    private readonly availability: Availability,
    private readonly log: Logger,
    private readonly opts: ProducerOptions = {},
  ) {
    this.maxBatchBytes = opts.maxBatchBytes ?? 1_000_000;
    this.maxBatchRecords = opts.maxBatchRecords ?? Number.POSITIVE_INFINITY;
    this.compressor = compressorOf(opts.compression ?? "none");
    this.lingerMs = opts.lingerMs ?? 0;
    this.maxInFlightPerBroker = opts.maxInFlightPerBroker ?? 5;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 30_000;
    this.backoff = opts.retryBackoffMs ?? { initial: 100, max: 2000 };
  }

  /** Connects, loads the topics' metadata and gets a producer id. Throws what went wrong. */
  async connect(topics: string[]): Promise<void> {
    await this.cluster.connect();
    await untilTopicsKnown(() => this.cluster.addMultipleTargetTopics(topics));
    const broker = await this.cluster.findControllerBroker();
    const produce = broker.versions?.[PRODUCE_API_KEY];
    if (produce && produce.maxVersion < PRODUCE_VERSION) {
      throw new DownstreamError("kafka", `the broker serves produce requests up to v${produce.maxVersion}; ferry needs v${PRODUCE_VERSION} (Kafka 2.1 or later)`);
    }
    // A broker's transaction coordinator loads for a while after start (COORDINATOR_LOAD_IN_PROGRESS).
    for (let wait = this.backoff.initial, until = Date.now() + 30_000; ; wait = Math.min(wait * 2, this.backoff.max)) {
      try {
        await this.newProducerId();
        break;
      } catch (e) {
        if (!(e as { retriable?: boolean }).retriable || Date.now() > until) throw e;
        this.log.debug("kafka: no producer id yet", { reason: describeKafkaError(e) });
        await sleep(wait);
      }
    }
    this.state = "ready";
  }

  /** Adds topics to the metadata ferry keeps (a topic must be known before records are sent to it). */
  async addTopics(topics: string[]): Promise<void> {
    await untilTopicsKnown(() => this.cluster.addMultipleTargetTopics(topics));
    for (const t of topics) this.loadTopic(t);
  }

  /** Records accepted and not yet settled (acknowledged, refused or past their deadline). */
  get pending(): number {
    let n = this.recordsInFlight;
    for (const p of this.waiting) n += p.queue.length;
    return n;
  }

  /**
   * Queues `records` for `topic`; resolves once Kafka acknowledged every one of them, rejects with
   * UnavailableError when `timeoutMs` passes first (then the records not yet sent never will be).
   */
  send(topic: string, records: readonly ProducerRecord[], timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    if (this.state === "closed") return Promise.reject(new UnavailableError("kafka: the producer is closed"));
    const parts = this.partitions.get(topic) ?? this.loadTopic(topic);
    return new Promise<void>((resolve, reject) => {
      const ticket = new Ticket(records.length, resolve, reject);
      const start = this.roundRobin++;
      for (const r of records) {
        const p = parts[r.key === null ? start % parts.length : partitionOfKey(r.key, parts.length)]!;
        const keyBytes = byteLength(r.key);
        const valueBytes = byteLength(r.value);
        const q: Queued = { key: r.key, value: r.value, headers: r.headers, keyBytes, valueBytes, size: recordSize(keyBytes, valueBytes, r.headers), ticket };
        p.queue.push(q);
        p.queuedBytes += q.size;
        this.waiting.add(p);
      }
      if (Number.isFinite(timeoutMs)) {
        ticket.timer = setTimeout(() => {
          ticket.fail(new UnavailableError(`kafka: ${ticket.remaining} record(s) not acknowledged within ${timeoutMs} ms${this.state === "ready" ? "" : ` (${this.retireReason})`}`));
          this.checkIdle();
        }, timeoutMs);
      }
      this.schedulePump();
    });
  }

  /** Resolves when every queued record is settled (acknowledged, refused, or past its deadline). */
  async flush(): Promise<void> {
    if (this.isIdle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits up to `timeoutMs` for queued records, then fails what is left and disconnects. */
  async close(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.flush(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    const left = this.pending;
    this.state = "closed";
    const closed = new UnavailableError("kafka: the producer closed before Kafka acknowledged these records");
    clearTimeout(this.lingerTimer);
    for (const p of this.waiting) while (p.queue.length > 0) p.queue.shift()!.ticket.fail(closed);
    for (const parts of this.partitions.values()) for (const p of parts) for (const b of p.inFlight) for (const q of b.records) q.ticket.fail(closed);
    if (left > 0) this.log.error("records still unacknowledged at shutdown", { pending: left });
    await this.cluster.disconnect().catch(() => {});
  }

  private loadTopic(topic: string): PartitionState[] {
    const meta = this.cluster.findTopicPartitionMetadata(topic);
    if (meta.length === 0) throw new DownstreamError("kafka", `no metadata for topic "${topic}" (does it exist?)`);
    const known = this.partitions.get(topic) ?? [];
    const parts = Array.from({ length: meta.length }, (_, i) => known[i] ?? new PartitionState(topic, i));
    this.partitions.set(topic, parts);
    const leaders = new Array<number>(meta.length).fill(-1);
    for (const m of meta) leaders[m.partitionId] = m.leader ?? -1;
    this.leaders.set(topic, leaders);
    return parts;
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.state !== "ready") return;
    const byLeader = new Map<number, PartitionState[]>();
    for (const p of this.waiting) {
      if (p.queue.length === 0) {
        this.waiting.delete(p);
        continue;
      }
      const leader = this.leaders.get(p.topic)?.[p.partition] ?? -1;
      if (leader < 0) {
        this.retire(`no leader for ${p.topic}-${p.partition}`);
        return;
      }
      const list = byLeader.get(leader);
      if (list) list.push(p);
      else byLeader.set(leader, [p]);
    }
    let lingerFor = Number.POSITIVE_INFINITY;
    for (const [nodeId, parts] of byLeader) {
      while ((this.brokerRequests.get(nodeId) ?? 0) < this.maxInFlightPerBroker) {
        const batches: InFlightBatch[] = [];
        const encoded: PartitionBatch[] = [];
        const now = Date.now();
        for (const p of parts) {
          const wait = this.lingerLeft(p);
          if (wait > 0) {
            lingerFor = Math.min(lingerFor, wait);
            continue;
          }
          const b = this.cutBatch(p, now);
          if (b) {
            batches.push(b.batch);
            encoded.push(b.encoded);
          }
        }
        if (batches.length === 0) break;
        void this.request(nodeId, batches, encoded);
      }
    }
    if (Number.isFinite(lingerFor) && !this.lingerTimer) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        this.pump();
      }, Math.ceil(lingerFor));
    }
    this.checkIdle();
  }

  /** With a linger: how much longer a partition's batch, not yet full, may wait for more records. */
  private lingerLeft(p: PartitionState): number {
    if (this.lingerMs === 0 || p.queuedBytes >= this.maxBatchBytes || p.queue.length >= this.maxBatchRecords) return 0;
    const first = p.queue.peek();
    return first ? this.lingerMs - (performance.now() - first.ticket.queuedAt) : 0;
  }

  private cutBatch(p: PartitionState, now: number): { batch: InFlightBatch; encoded: PartitionBatch } | undefined {
    if (p.inFlight.length >= 5) return undefined;
    const records: Queued[] = [];
    let bytes = 0;
    for (let q = p.queue.peek(); q; q = p.queue.peek()) {
      if (!q.ticket.done) {
        // (a record whose sender stopped waiting is dropped here: it is never sent)
        if (records.length > 0 && (bytes + q.size > this.maxBatchBytes || records.length >= this.maxBatchRecords)) break;
        records.push(q);
        bytes += q.size;
      }
      p.queue.shift();
      p.queuedBytes -= q.size;
    }
    if (records.length === 0) return undefined;
    const baseSequence = p.nextSequence;
    p.nextSequence = (baseSequence + records.length) % MAX_SEQUENCE;
    const batch = { part: p, records };
    p.inFlight.push(batch);
    const bytesOut = encodeRecordBatch(
      records,
      { producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence, timestampMs: now },
      this.compressor,
    );
    return { batch, encoded: { topic: p.topic, partition: p.partition, batch: bytesOut } };
  }

  private async request(nodeId: number, batches: InFlightBatch[], encoded: PartitionBatch[]): Promise<void> {
    this.brokerRequests.set(nodeId, (this.brokerRequests.get(nodeId) ?? 0) + 1);
    this.requestsInFlight++;
    const started = performance.now();
    const records = batches.reduce((n, b) => n + b.records.length, 0);
    this.recordsInFlight += records;
    let failure: unknown;
    try {
      const broker = await this.cluster.findBroker({ nodeId });
      const res = await sendRaw(broker, produceRequest(encodeProduceBody(encoded, this.ackTimeoutMs)), produceResponse);
      this.availability.reached();
      // A batch not acknowledged stays in its partition's in-flight list: retire() queues it again
      // under the next producer id (unless its sender stopped waiting or it was refused).
      for (const b of batches) {
        const r = res.results.find((x) => x.partition === b.part.partition && x.topic === b.part.topic);
        const where = `${b.part.topic}-${b.part.partition}`;
        if (r && (r.errorCode === SUCCESS || r.errorCode === DUPLICATE_SEQUENCE_NUMBER)) {
          this.acked(b);
          continue;
        }
        const code = r && kafkaErrorCode(r.errorCode);
        const why = code ? `${where}: ${code.type}: ${code.message}` : `the broker's answer left out ${where}`;
        if (r && REFUSED_RECORDS.has(r.errorCode)) {
          const e = new DownstreamError("kafka", `${where} refused ${b.records.length} record(s): ${code!.type}: ${code!.message}`);
          for (const q of b.records) q.ticket.fail(e);
        }
        failure ??= new Error(why);
        this.retire(why);
      }
    } catch (e) {
      // Unknown outcome: the broker may or may not have written them.
      failure = e;
      const why = describeKafkaError(e);
      this.availability.down(why);
      this.retire(why);
    } finally {
      this.opts.onRequest?.(records, performance.now() - started, failure);
      this.brokerRequests.set(nodeId, this.brokerRequests.get(nodeId)! - 1);
      this.requestsInFlight--;
      this.recordsInFlight -= records;
      if (this.state === "retiring" && this.requestsInFlight === 0) void this.renew();
      else this.schedulePump();
    }
  }

  private acked(b: InFlightBatch): void {
    const i = b.part.inFlight.indexOf(b);
    if (i >= 0) b.part.inFlight.splice(i, 1);
    // A send's records mostly sit side by side in a batch: count runs, not records.
    let ticket: Ticket | undefined;
    let run = 0;
    for (const q of b.records) {
      if (q.ticket !== ticket) {
        ticket?.ack(run);
        ticket = q.ticket;
        run = 0;
      }
      run++;
    }
    ticket?.ack(run);
  }

  private retire(why: string): void {
    if (this.state !== "ready") return;
    this.state = "retiring";
    this.retireReason = why;
    this.log.info("producer id retired after a failed produce request; unacknowledged records go again under a new one", {
      producerId: String(this.producerId),
      reason: why,
    });
    if (this.requestsInFlight === 0) void this.renew();
  }

  private async renew(): Promise<void> {
    if (this.state !== "retiring") return;
    this.state = "renewing";
    // Every request has settled: what was not acknowledged goes again, first, in its order.
    for (const parts of this.partitions.values()) {
      for (const p of parts) {
        const again = p.inFlight.flatMap((b) => b.records).filter((q) => !q.ticket.done);
        p.inFlight.length = 0;
        p.nextSequence = 0;
        p.queue.unshiftAll(again);
        for (const q of again) p.queuedBytes += q.size;
        if (p.queue.length > 0) this.waiting.add(p);
      }
    }
    let wait = this.backoff.initial;
    for (;;) {
      if (this.isClosed()) return;
      try {
        await this.cluster.refreshMetadata();
        for (const topic of this.partitions.keys()) this.loadTopic(topic);
        const leaderless = [...this.waiting].find((p) => (this.leaders.get(p.topic)?.[p.partition] ?? -1) < 0);
        if (leaderless) throw new Error(`no leader for ${leaderless.topic}-${leaderless.partition} yet`);
        await this.newProducerId();
        this.availability.reached();
        this.state = "ready";
        this.schedulePump();
        return;
      } catch (e) {
        const why = describeKafkaError(e);
        // A broker that answers with an error (e.g. its coordinator still loading) is reachable.
        if ((e as Error).name !== "KafkaJSProtocolError") this.availability.down(why);
        this.log.debug("kafka: cannot get a new producer id yet", { reason: why, retryInMs: wait });
        this.checkIdle();
        await sleep(wait);
        wait = Math.min(wait * 2, this.backoff.max);
      }
    }
  }

  /** (A method, not `this.state === "closed"` inline: close() changes the state while renew() awaits.) */
  private isClosed(): boolean {
    return this.state === "closed";
  }

  private async newProducerId(): Promise<void> {
    const broker = await this.cluster.findControllerBroker();
    const { producerId, producerEpoch } = await broker.initProducerId({ transactionTimeout: 60_000 });
    this.producerId = BigInt(producerId);
    this.producerEpoch = producerEpoch;
    this.log.debug("kafka: producer id", { producerId, producerEpoch });
  }

  private isIdle(): boolean {
    if (this.requestsInFlight > 0) return false;
    for (const p of this.waiting) {
      while (p.queue.peek()?.ticket.done) p.queuedBytes -= p.queue.shift()!.size;
      if (p.queue.length > 0) return false;
    }
    return true;
  }

  private checkIdle(): void {
    if (this.idleWaiters.length > 0 && this.isIdle()) for (const r of this.idleWaiters.splice(0)) r();
  }
}
