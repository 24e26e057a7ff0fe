/** Where a run of records came from: a topic's partition, and when they were received. */
export interface LineageSegment {
  topic: string;
  partition: number;
  /** ISO 8601 time, UTC. */
  ingestedAt: string;
}
