/**
 * Kafka as a source of micro-batches: a consumer group whose offsets ferry manages itself.
 *
 * Records are buffered until the batch policy closes the batch (records, bytes, or the interval,
 * which fires even when the topic is idle). `process` makes the batch durable; only then are its
 * offsets committed to Kafka, in batch order. Up to two batches are being processed at once (the
 * sink pipelines them, keeping their order) while the next one fills: memory is bounded by the
 * policy.
 *
 * Rebalances: before the member rejoins (its partitions about to be revoked) the open batch is
 * processed and committed (src/kafka/kafkajs/rejoin-hook.ts). On assignment every partition is paused
 * until its position is known — max(offset stored by the sink, offset committed in Kafka) — then
 * moved there and resumed.
 *
 * This file wires the pieces to kafkajs's consumer (rebalances, the interval, progress): the open
 * batch is src/sources/kafka/batch-filler.ts, the in-order commits ordered-commits.ts, where each
 * partition stands positions.ts.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from "kafkajs";
import { DownstreamError, errorMessage } from "../errors.ts";
import { Availability } from "../kafka/availability.ts";
import { connectFailure } from "../kafka/client.ts";
import { describeKafkaError } from "../kafka/describe-error.ts";
import { onBeforeRejoin } from "../kafka/kafkajs/rejoin-hook.ts";
import type { Logger } from "../log/logger.ts";
import type { BatchPolicy } from "../pipeline/batch-policy.ts";
import { partitionsByTopic, type TopicPartition, tpKey } from "../pipeline/partitions.ts";
import { BatchFiller } from "./kafka/batch-filler.ts";
import { OrderedCommits } from "./kafka/ordered-commits.ts";
import { placement, Positions } from "./kafka/positions.ts";
import type { BatchContent, SourceBatch } from "./kafka/types.ts";

export type { TopicPartition };
export type { BatchContent, PartitionRange, SourceBatch } from "./kafka/types.ts";

export interface KafkaBatchSourceOptions<C extends BatchContent> {
  topics: string[];
  groupId: string;
  policy: BatchPolicy;
  /** A member not heard from for this long is dropped from the group (its partitions move). */
  sessionTimeoutMs: number;
  /** An empty batch content. */
  newContent(): C;
  /** Makes a batch durable. Offsets are committed to Kafka after it resolves; if it throws, the source stops. */
  process(batch: SourceBatch<C>): Promise<void>;
  /** The next offset the sink has stored for a partition (its own record of progress), if any. */
  storedOffset(tp: TopicPartition): number | undefined;
  /**
   * Read only what the topics held at start: a batch closes as soon as every assigned partition
   * has been fetched up to that end, and caughtUp() resolves once it is committed.
   */
  untilCaughtUp?: boolean;
  /** Called with newly assigned partitions before their positions are asked for (storedOffset), and before they are read. */
  prepare?(assigned: TopicPartition[]): Promise<void>;
  /** Called after a batch's offsets are committed (or the commit failed: `error`). */
  onCommitted?(batch: SourceBatch<C>, error?: unknown): void;
  /** Told when the group loses Kafka and when it is back (e.g. for the status page); default: one of its own. */
  availability?: Availability;
  log: Logger;
}

export interface KafkaBatchSource {
  /** Joins the group and starts reading. */
  start(): Promise<void>;
  /** Processes and commits the open batch, leaves the group. */
  stop(): Promise<void>;
  /** Rejects when the source fails (a batch could not be made durable, or the consumer crashed). */
  readonly failed: Promise<never>;
  /** Assigned partitions and the next offset to be read (after the last processed batch). */
  positions(): Map<string, { tp: TopicPartition; next: number | undefined }>;
  /** High watermarks seen in fetches, by partition. */
  highWatermarks(): Map<string, number>;
  /** Resolves once every assigned partition has reached the end offset it had when the source started. */
  caughtUp(): Promise<void>;
}

export function createKafkaBatchSource<C extends BatchContent>(kafka: Kafka, opts: KafkaBatchSourceOptions<C>): KafkaBatchSource {
  const { log, policy } = opts;
  const consumer: Consumer = kafka.consumer({
    groupId: opts.groupId,
    // How long a fetch waits at the broker for records; leaving the group waits for the fetch in
    // flight, so this is also what a stop costs (100 ms: at most 10 empty fetches a second when idle).
    maxWaitTimeInMs: Math.min(100, policy.intervalMs),
    // kafkajs turns a whole fetch response into objects (~10x its bytes): small fetches keep memory
    // low (1 MiB: peak RSS ~750 → ~500 MB draining 1M orders, the same records/s as 8 MiB).
    maxBytes: Math.min(policy.maxBytes, 1 << 20),
    maxBytesPerPartition: Math.min(policy.maxBytes, 1 << 20),
    sessionTimeout: opts.sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.min(3000, Math.floor(opts.sessionTimeoutMs / 5))),
    rebalanceTimeout: 60_000,
    retry: { retries: 10 },
  });
  const admin: Admin = kafka.admin();
  /** One log line when the group loses Kafka, one when it has rejoined (kafkajs's retries are debug lines). */
  const availability = opts.availability ?? new Availability(log);

  const filler = new BatchFiller(policy, opts.newContent);
  const positions = new Positions();
  /** False between "about to rejoin" and "positions of the new assignment known": fetched records are not taken. */
  let accepting = false;
  let generation = 0;
  let stopped = false;
  let joined = false;
  let caughtUpResolve: () => void = () => {};
  const caughtUp = new Promise<void>((r) => (caughtUpResolve = r));
  let timer: ReturnType<typeof setInterval> | undefined;
  let endsTimer: ReturnType<typeof setInterval> | undefined;

  let fail: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {});

  const commits = new OrderedCommits<SourceBatch<C>>({
    process: opts.process,
    advance: (batch) => positions.advance(batch.ranges),
    commit: (batch) => consumer.commitOffsets(batch.ranges.map((r) => ({ topic: r.topic, partition: r.partition, offset: String(r.lastOffset + 1) }))),
    committed(batch) {
      opts.onCommitted?.(batch, undefined);
      checkCaughtUp();
    },
    commitFailed(batch, e) {
      // The batch is durable and the sink knows its offsets: they win over Kafka's on the next
      // assignment, so nothing repeats here. Another member taking the partition meanwhile
      // would start from the older Kafka offset.
      log.warn("committing offsets to Kafka failed; the sink's stored offsets stay ahead", { error: errorMessage(e), batch: batch.sequence });
      opts.onCommitted?.(batch, e);
    },
    failed: (e) => fail(e),
  });

  /**
   * Takes the open batch and hands it on at once (the sink works on it beside the one in flight,
   * keeping the order itself); resolves when it is committed. Offsets are committed in order.
   */
  function closeBatch(): Promise<void> {
    if (filler.isEmpty) return commits.settled();
    return commits.hand({ ...filler.take(), sequence: commits.nextSequence() });
  }

  async function eachBatch({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    if (!accepting || isStale() || batch.messages.length === 0) return;
    if (!positions.isAssigned(batch.topic, batch.partition)) return;
    positions.highs.set(tpKey(batch.topic, batch.partition), Number(batch.highWatermark));
    // A fetch may hold more than fits: it is split so that no batch exceeds the policy's records.
    for (let from = 0; from < batch.messages.length; ) {
      const take = Math.min(batch.messages.length - from, filler.room());
      const messages = take === batch.messages.length ? batch.messages : batch.messages.slice(from, from + take);
      from += take;
      const last = await filler.add(batch.topic, batch.partition, messages);
      positions.fetchedUpTo(batch.topic, batch.partition, last + 1);
      if (filler.full() || (opts.untilCaughtUp && from === batch.messages.length && positions.atStartEnds("fetched"))) {
        // At most two batches are being written while a third fills: wait for the older one.
        await commits.olderSettled();
        void closeBatch().catch(() => {});
      }
    }
    resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
    await heartbeat();
  }

  /** Positions of a new assignment: max(stored by the sink, committed in Kafka). */
  async function place(myGeneration: number, tps: TopicPartition[]): Promise<void> {
    // The sink recovers what it needs (its lake) before telling where it stands.
    await opts.prepare?.(tps);
    if (myGeneration !== generation) return;
    const committed = new Map<string, number>();
    for (const topic of new Set(tps.map((tp) => tp.topic))) {
      const r = await admin.fetchOffsets({ groupId: opts.groupId, topics: [topic] });
      for (const t of r) for (const p of t.partitions) if (Number(p.offset) >= 0) committed.set(tpKey(t.topic, p.partition), Number(p.offset));
    }
    if (myGeneration !== generation) return;
    const { placed, behind } = placement(tps, (tp) => opts.storedOffset(tp), committed);
    for (const b of behind) consumer.seek({ topic: b.topic, partition: b.partition, offset: b.offset });
    for (const p of placed) positions.assign({ topic: p.topic, partition: p.partition }, p.position);
    if (behind.length > 0) {
      // The sink got further than Kafka was told (a crash between the two): tell Kafka now.
      await consumer.commitOffsets(behind).catch((e) => log.warn("committing stored offsets to Kafka failed", { error: errorMessage(e) }));
      if (myGeneration !== generation) return;
    }
    accepting = true;
    joined = true;
    consumer.resume(partitionsByTopic(tps));
    log.info("partitions assigned", { partitions: placed.map((p) => `${p.topic}/${p.partition}@${p.position ?? "earliest"}`) });
    checkCaughtUp();
  }

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    availability.reached();
    const myGeneration = ++generation;
    positions.clear();
    const tps: TopicPartition[] = Object.entries(payload.memberAssignment).flatMap(([topic, ps]) => (ps as number[]).map((partition) => ({ topic, partition })));
    if (tps.length === 0) {
      accepting = true;
      joined = true;
      log.info("no partitions assigned (more members than partitions)");
      return;
    }
    consumer.pause(partitionsByTopic(tps));
    place(myGeneration, tps).catch((e) => fail(new DownstreamError("kafka", `cannot read committed offsets of group ${opts.groupId}: ${errorMessage(e)}`, { cause: e })));
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(new DownstreamError("kafka", `consumer stopped: ${errorMessage(payload.error)}`, { cause: payload.error }));
    else availability.down(describeKafkaError(payload.error)); // kafkajs restarts the consumer and rejoins
  });

  const removeHook = onBeforeRejoin(opts.groupId, async (stillMember) => {
    accepting = false;
    if (stillMember) {
      log.info("group rebalancing: closing the open batch before partitions are revoked");
      await closeBatch().catch(() => {});
    } else {
      // Dropped by the coordinator: the partitions may be read by another member already.
      // Records not yet written are left to whoever owns them now (they are re-read, not lost).
      await commits.settled();
      filler.reset();
    }
  });

  async function readEnds(into: Map<string, number>): Promise<void> {
    for (const topic of opts.topics) {
      for (const o of await admin.fetchTopicOffsets(topic)) positions.noteEnds(into, topic, o.partition, Number(o.high), Number(o.low));
    }
  }

  function checkCaughtUp(): void {
    if (joined && accepting && positions.atStartEnds("committed")) caughtUpResolve();
  }

  return {
    failed,
    positions: () => positions.assigned,
    highWatermarks: () => positions.highs,
    caughtUp() {
      return caughtUp;
    },
    async start() {
      const started = Date.now();
      try {
        await admin.connect();
      } catch (e) {
        await admin.disconnect().catch(() => {});
        removeHook();
        throw connectFailure(e, Date.now() - started);
      }
      try {
        await consumer.connect();
        for (const topic of opts.topics) await consumer.subscribe({ topic, fromBeginning: true });
        await readEnds(positions.startEnds);
      } catch (e) {
        await Promise.allSettled([consumer.disconnect(), admin.disconnect()]);
        removeHook();
        throw new DownstreamError("kafka", `cannot join group ${opts.groupId}: ${errorMessage(e)}`, { cause: e });
      }
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch });
      // The interval closes the open batch; every second (or interval, if shorter) the ends are
      // read again (for lag, progress, and whether Kafka answers).
      timer = setInterval(() => {
        if (stopped || !accepting) return;
        closeBatch().catch(() => {});
      }, policy.intervalMs);
      const highsNow = new Map<string, number>();
      let reading = false;
      endsTimer = setInterval(() => {
        if (stopped || reading) return;
        reading = true;
        readEnds(highsNow)
          .then(() => {
            availability.reached();
            for (const k of positions.assigned.keys()) if (highsNow.has(k)) positions.highs.set(k, highsNow.get(k)!);
            checkCaughtUp();
          })
          .catch((e) => {
            // Kafka not answering (after the client's retries): said once until it answers again.
            // (A read cut short by the stop is no news.)
            if (!stopped) availability.down(describeKafkaError(e));
            log.debug("reading end offsets failed", { error: errorMessage(e) });
          })
          .finally(() => (reading = false));
      }, Math.min(policy.intervalMs, 1000));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      clearInterval(endsTimer);
      accepting = false;
      // A fetch being handled may still close a batch: wait until nothing is open or in flight.
      do {
        await closeBatch().catch(() => {});
        await commits.settled();
      } while (filler.records > 0);
      removeHook();
      await consumer.disconnect().catch((e) => log.warn("leaving the group failed", { error: errorMessage(e) }));
      await admin.disconnect().catch(() => {});
    },
  };
}
