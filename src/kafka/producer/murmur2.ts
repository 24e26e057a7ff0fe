/**
 * Kafka's default partitioner for keyed records: murmur2 of the key's UTF-8 bytes, made positive,
 * modulo the partition count (Java's `Utils.toPositive(Utils.murmur2(key)) % n`), so ferry puts a
 * key where every other Kafka client does.
 */
const M = 0x5bd1e995;
const SEED = 0x9747b28c;

export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) h = Math.imul(h ^ data[whole]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const ascii = new Uint8Array(256);

/** The partition of a key among `partitions`. */
export function partitionOfKey(key: string | Uint8Array, partitions: number): number {
  let bytes: Uint8Array;
  if (typeof key !== "string") bytes = key;
  else if (key.length <= ascii.length && /^[\x00-\x7f]*$/.test(key)) {
    for (let i = 0; i < key.length; i++) ascii[i] = key.charCodeAt(i);
    bytes = ascii.subarray(0, key.length);
  } else bytes = Buffer.from(key, "utf8");
  return (murmur2(bytes) & 0x7fffffff) % partitions;
}
