/** Hashes the runtime provides natively. */
import { closeSync, openSync, readSync } from "node:fs";

/** xxHash32 with seed 0 (the LZ4 frame header checksum). */
export const xxHash32 = (data: Uint8Array): number => Number(Bun.hash.xxHash32(data, 0));

/**
 * The SHA-256 of a file, hex, read in chunks of one reused buffer: hashing a 70 MB library costs
 * the buffer, not the file's size, in memory.
 */
export function sha256File(path: string, chunkBytes = 1 << 20): string {
  const hasher = new Bun.CryptoHasher("sha256");
  const buffer = new Uint8Array(chunkBytes);
  const fd = openSync(path, "r");
  try {
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) hasher.update(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hasher.digest("hex");
}
