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
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import { DownstreamError, errorMessage } from "../errors.ts";
import { Availability } from "../kafka/availability.ts";
import { connectFailure } from "../kafka/client.ts";
import { describeKafkaError } from "../kafka/describe-error.ts";
import { type CorruptBatch, corruptionOf } from "../kafka/fetch-response.ts";
import { onBeforeRejoin } from "../kafka/kafkajs/rejoin-hook.ts";
import type { Logger } from "../log/logger.ts";
import type { BatchPolicy } from "../pipeline/batch-policy.ts";
import { partitionsByTopic, type TopicPartition, tpKey } from "../pipeline/partitions.ts";

export type { TopicPartition };

/** A partition's part of a batch: a contiguous run of fetched offsets. */
export interface PartitionRange {
  topic: string;
  partition: number;
  /** First and last offset fetched (records may be missing in between: compaction, transactions). */
  firstOffset: number;
  lastOffset: number;
  records: number;
}

/**
 * What a batch's records are turned into as they arrive (decoded, validated rows), so the work
 * is spread over the fetches and the raw messages are not held until the batch closes.
 */
export interface BatchContent {
  add(topic: string, partition: number, messages: KafkaMessage[]): void | Promise<void>;
}

export interface SourceBatch<C extends BatchContent = BatchContent> {
  ranges: PartitionRange[];
  content: C;
  /** Record batches the fetch decoder refused (src/kafka/fetch-response.ts): to be dead-lettered as pointers; their offsets are in `ranges`. */
  corrupt: CorruptBatch[];
  records: number;
  bytes: number;
  /** 1, 2, 3… in this process. */
  sequence: number;
}

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
  const availability = new Availability(log);

  let runs = new Map<string, PartitionRange>();
  let content = opts.newContent();
  let corrupt: CorruptBatch[] = [];
  let records = 0;
  let bytes = 0;
  let sequence = 0;
  /** The last batch handed on (settles once committed) and the one before it; the next one fills meanwhile. */
  let inFlight: Promise<void> = Promise.resolve();
  let beforeInFlight: Promise<void> = Promise.resolve();
  /** False between "about to rejoin" and "positions of the new assignment known": fetched records are not taken. */
  let accepting = false;
  let generation = 0;
  let stopped = false;
  const assigned = new Map<string, { tp: TopicPartition; next: number | undefined }>();
  const highs = new Map<string, number>();
  /** Next offset to fetch, by partition (ahead of `assigned[].next` while a batch is open). */
  const fetched = new Map<string, number>();
  /** End offsets when the source started (for caughtUp), and low watermarks. */
  const startEnds = new Map<string, number>();
  const lows = new Map<string, number>();
  let joined = false;
  let caughtUpResolve: () => void = () => {};
  const caughtUp = new Promise<void>((r) => (caughtUpResolve = r));
  let timer: ReturnType<typeof setInterval> | undefined;

  let fail: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {});

  /** Starts an empty open batch (what was open is handed on, or dropped). */
  function resetOpenBatch(): void {
    runs = new Map();
    content = opts.newContent();
    corrupt = [];
    records = 0;
    bytes = 0;
  }

  /**
   * Takes the open batch and hands it on at once (the sink works on it beside the one in flight,
   * keeping the order itself); resolves when it is committed. Offsets are committed in order.
   */
  function closeBatch(): Promise<void> {
    const previous = inFlight;
    if (records === 0 && runs.size === 0) return previous;
    const batch: SourceBatch<C> = { ranges: [...runs.values()], content, corrupt, records, bytes, sequence: ++sequence };
    resetOpenBatch();
    const work = processAndCommit(batch, previous);
    beforeInFlight = inFlight;
    inFlight = work.catch(() => {});
    return work;
  }

  /** Set when a batch could not be made durable: no later batch may be committed past it. */
  let broken: unknown;

  async function processAndCommit(batch: SourceBatch<C>, previous: Promise<void>): Promise<void> {
    if (broken) throw broken;
    try {
      await opts.process(batch);
    } catch (e) {
      broken ??= e;
      fail(e);
      throw e;
    }
    await previous;
    if (broken) throw broken;
    for (const r of batch.ranges) {
      const a = assigned.get(tpKey(r.topic, r.partition));
      if (a) a.next = r.lastOffset + 1;
    }
    const offsets = batch.ranges.map((r) => ({ topic: r.topic, partition: r.partition, offset: String(r.lastOffset + 1) }));
    try {
      await consumer.commitOffsets(offsets);
      opts.onCommitted?.(batch, undefined);
      checkCaughtUp();
    } catch (e) {
      // The batch is durable and the sink knows its offsets: they win over Kafka's on the next
      // assignment, so nothing repeats here. Another member taking the partition meanwhile
      // would start from the older Kafka offset.
      log.warn("committing offsets to Kafka failed; the sink's stored offsets stay ahead", { error: errorMessage(e), batch: batch.sequence });
      opts.onCommitted?.(batch, e);
    }
  }

  async function eachBatch({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    if (!accepting || isStale() || batch.messages.length === 0) return;
    const key = tpKey(batch.topic, batch.partition);
    if (!assigned.has(key)) return;
    highs.set(key, Number(batch.highWatermark));
    // A fetch may hold more than fits: it is split so that no batch exceeds the policy's records.
    for (let from = 0; from < batch.messages.length; ) {
      const take = Math.min(batch.messages.length - from, policy.maxRecords - records);
      const messages = take === batch.messages.length ? batch.messages : batch.messages.slice(from, from + take);
      from += take;
      const first = Number(messages[0]!.offset);
      const last = Number(messages[messages.length - 1]!.offset);
      let run = runs.get(key);
      if (!run) {
        run = { topic: batch.topic, partition: batch.partition, firstOffset: first, lastOffset: last, records: 0 };
        runs.set(key, run);
      }
      const before = corrupt.length;
      for (const m of messages) {
        bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
        const c = corruptionOf(m);
        if (c) corrupt.push(c);
      }
      const good = corrupt.length === before ? messages : messages.filter((m) => !corruptionOf(m));
      if (good.length > 0) await content.add(batch.topic, batch.partition, good);
      run.lastOffset = last;
      run.records += messages.length;
      records += messages.length;
      fetched.set(key, last + 1);
      if (records >= policy.maxRecords || bytes >= policy.maxBytes || (opts.untilCaughtUp && from === batch.messages.length && atStartEnds("fetched"))) {
        // At most two batches are being written while a third fills: wait for the older one.
        await beforeInFlight;
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
    const placed: (TopicPartition & { position: number | undefined })[] = [];
    const behind: { topic: string; partition: number; offset: string }[] = [];
    for (const tp of tps) {
      const stored = opts.storedOffset(tp);
      const kafka = committed.get(tpKey(tp.topic, tp.partition));
      const position = stored === undefined ? kafka : kafka === undefined ? stored : Math.max(stored, kafka);
      if (position !== undefined && position !== kafka) {
        consumer.seek({ topic: tp.topic, partition: tp.partition, offset: String(position) });
        // The sink got further than Kafka was told (a crash between the two): tell Kafka now.
        behind.push({ ...tp, offset: String(position) });
      }
      assigned.set(tpKey(tp.topic, tp.partition), { tp, next: position });
      placed.push({ ...tp, position });
    }
    if (behind.length > 0) {
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
    assigned.clear();
    fetched.clear();
    highs.clear();
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
      await inFlight;
      resetOpenBatch();
    }
  });

  async function readEnds(into: Map<string, number>): Promise<void> {
    for (const topic of opts.topics) {
      for (const o of await admin.fetchTopicOffsets(topic)) {
        into.set(tpKey(topic, o.partition), Number(o.high));
        lows.set(tpKey(topic, o.partition), Number(o.low));
      }
    }
  }

  /** Whether every assigned partition has reached its end at start: fetched so far, or (not) committed. */
  function atStartEnds(counting: "fetched" | "committed"): boolean {
    for (const [k, { next }] of assigned) {
      const position = (counting === "fetched" ? fetched.get(k) : undefined) ?? next ?? lows.get(k) ?? 0;
      if (position < (startEnds.get(k) ?? 0)) return false;
    }
    return true;
  }

  function checkCaughtUp(): void {
    if (joined && accepting && atStartEnds("committed")) caughtUpResolve();
  }

  return {
    failed,
    positions: () => assigned,
    highWatermarks: () => highs,
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
        await readEnds(startEnds);
      } catch (e) {
        await Promise.allSettled([consumer.disconnect(), admin.disconnect()]);
        removeHook();
        throw new DownstreamError("kafka", `cannot join group ${opts.groupId}: ${errorMessage(e)}`, { cause: e });
      }
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch });
      // The interval closes the open batch, refreshes the ends (for lag) and checks progress.
      const highsNow = new Map<string, number>();
      timer = setInterval(() => {
        if (stopped || !accepting) return;
        closeBatch().catch(() => {});
        readEnds(highsNow)
          .then(() => {
            for (const k of assigned.keys()) if (highsNow.has(k)) highs.set(k, highsNow.get(k)!);
            checkCaughtUp();
          })
          .catch((e) => log.debug("reading end offsets failed", { error: errorMessage(e) }));
      }, policy.intervalMs);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      accepting = false;
      // A fetch being handled may still close a batch: wait until nothing is open or in flight.
      do {
        await closeBatch().catch(() => {});
        await inFlight;
      } while (records > 0);
      removeHook();
      await consumer.disconnect().catch((e) => log.warn("leaving the group failed", { error: errorMessage(e) }));
      await admin.disconnect().catch(() => {});
    },
  };
}
