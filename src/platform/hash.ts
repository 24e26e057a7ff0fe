/** Hashes the runtime provides natively. */

/** xxHash32 with seed 0 (the LZ4 frame header checksum). */
export const xxHash32 = (data: Uint8Array): number => Number(Bun.hash.xxHash32(data, 0));
