/** Topic housekeeping shared by the modes that produce. */
import type { Admin } from "kafkajs";
import { DownstreamError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";

/** Makes sure a topic exists: creates it with `createPartitions` partitions, or (undefined) says it is missing. */
export async function ensureTopic(admin: Admin, topic: string, createPartitions: number | undefined, log: Logger): Promise<void> {
  const topics = await admin.listTopics();
  if (topics.includes(topic)) return;
  if (createPartitions === undefined) {
    throw new DownstreamError("kafka", `topic "${topic}" does not exist (ferry does not create it with --no-create-topic)`);
  }
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: createPartitions }], waitForLeaders: true });
  } catch (e) {
    // Another process may have created it in between.
    if (!(await admin.listTopics()).includes(topic)) throw e;
    return;
  }
  log.notice("created topic", { topic, partitions: createPartitions });
}
