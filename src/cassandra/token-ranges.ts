/**
 * The token ring cut into equal ranges, for a parallel full-table scan: each range is read with
 * `token(pk) > start AND token(pk) <= end`, so the ranges cover every token exactly once. The cut
 * depends only on the partitioner and the count, so a checkpoint can name ranges by index.
 */

export interface TokenRange {
  index: number;
  /** Exclusive. */
  start: bigint;
  /** Inclusive. */
  end: bigint;
}

/** The ring of each supported partitioner: (min, max]; no row hashes to min itself. */
export const RINGS: Record<string, { min: bigint; max: bigint }> = {
  "org.apache.cassandra.dht.Murmur3Partitioner": { min: -(2n ** 63n), max: 2n ** 63n - 1n },
  "org.apache.cassandra.dht.RandomPartitioner": { min: -1n, max: 2n ** 127n },
};

export function splitRing(ring: { min: bigint; max: bigint }, count: number): TokenRange[] {
  const span = ring.max - ring.min;
  const n = BigInt(count);
  const ranges: TokenRange[] = [];
  for (let i = 0n; i < n; i++) {
    const start = ring.min + (span * i) / n;
    const end = i === n - 1n ? ring.max : ring.min + (span * (i + 1n)) / n;
    ranges.push({ index: Number(i), start, end });
  }
  return ranges;
}
