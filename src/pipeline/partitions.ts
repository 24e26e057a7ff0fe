/** Topic partitions as keys, and grouping by topic: shared by the Kafka source and the sinks. */

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A map key for a topic partition. */
export const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** Groups items by a key, in order of first appearance (linear, whatever the group sizes). */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Partitions grouped by topic, in the `[{ topic, partitions }]` shape Kafka clients take. */
export const partitionsByTopic = (tps: Iterable<TopicPartition>) =>
  [...groupBy(tps, (tp) => tp.topic)].map(([topic, group]) => ({ topic, partitions: group.map((tp) => tp.partition) }));
