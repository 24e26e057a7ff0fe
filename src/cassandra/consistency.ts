/** Cassandra read consistency levels, by name (a config value: kept apart from the driver, which loads only when used). */
export const CONSISTENCY_NAMES = ["ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE"] as const;
export type ConsistencyName = (typeof CONSISTENCY_NAMES)[number];
