/** The size of a few files, read at most once per `everyMs` (a snapshot a second costs at most one stat per file a second). */
import { statSync } from "node:fs";

/** Bytes of the files that exist (undefined when none does). */
export function fileSizes(paths: readonly string[], everyMs = 1000, now: () => number = Date.now): () => number | undefined {
  let readAt = Number.NEGATIVE_INFINITY;
  let bytes: number | undefined;
  return () => {
    const t = now();
    if (t - readAt < everyMs) return bytes;
    readAt = t;
    let sum: number | undefined;
    for (const p of paths) {
      try {
        sum = (sum ?? 0) + statSync(p).size;
      } catch {
        // not there (yet): counts as nothing
      }
    }
    bytes = sum;
    return bytes;
  };
}
