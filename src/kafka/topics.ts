/** Topic housekeeping shared by the modes that produce. */
import { setTimeout as sleep } from "node:timers/promises";
import type { Admin, ITopicConfig } from "kafkajs";
import { DownstreamError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";

/**
 * Errors a broker answers while a topic it just created is not yet in its metadata (KRaft brokers
 * learn of new topics from the metadata log, a moment after CreateTopics returns).
 */
const NOT_YET = new Set(["UNKNOWN_TOPIC_OR_PARTITION", "LEADER_NOT_AVAILABLE"]);

/**
 * Retries `fn` while it fails because a topic is not yet known or has no leader, until `timeoutMs`.
 * kafkajs's own wait (`createTopics({ waitForLeaders: true })`) retries only LEADER_NOT_AVAILABLE and
 * fails on a fresh KRaft broker with UNKNOWN_TOPIC_OR_PARTITION; this is the one place that waits.
 */
export async function untilTopicsKnown<T>(fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  for (let wait = 50, until = Date.now() + timeoutMs; ; wait = Math.min(wait * 2, 1000)) {
    try {
      return await fn();
    } catch (e) {
      if (!NOT_YET.has((e as { type?: string }).type ?? "") || Date.now() > until) throw e;
      await sleep(wait);
    }
  }
}

/** Resolves once every partition of `topics` has a leader in the metadata `admin` sees. */
export async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  await untilTopicsKnown(async () => {
    const { topics: found } = await admin.fetchTopicMetadata({ topics });
    const missing = topics.filter((t) => {
      const parts = found.find((f) => f.name === t)?.partitions ?? [];
      return parts.length === 0 || parts.some((p) => p.leader < 0);
    });
    if (missing.length > 0) throw Object.assign(new Error(`no leader yet for ${missing.join(", ")}`), { type: "LEADER_NOT_AVAILABLE" });
  }, timeoutMs);
}

/** Creates topics and waits until each partition has a leader; false when they all existed already. */
export async function createTopics(admin: Admin, topics: ITopicConfig[], timeoutMs = 30_000): Promise<boolean> {
  const created = await admin.createTopics({ topics, waitForLeaders: false, timeout: timeoutMs });
  await waitForLeaders(admin, topics.map((t) => t.topic), timeoutMs);
  return created;
}

/** Makes sure a topic exists: creates it with `createPartitions` partitions, or (undefined) says it is missing. */
export async function ensureTopic(admin: Admin, topic: string, createPartitions: number | undefined, log: Logger): Promise<void> {
  const topics = await admin.listTopics();
  if (topics.includes(topic)) return;
  if (createPartitions === undefined) {
    throw new DownstreamError("kafka", `topic "${topic}" does not exist (ferry does not create it with --no-create-topic)`);
  }
  // false: another process created it in between (then it is waited for all the same).
  if (await createTopics(admin, [{ topic, numPartitions: createPartitions }])) {
    log.notice("created topic", { topic, partitions: createPartitions });
  }
}
