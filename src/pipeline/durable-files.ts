/** Files that survive a crash whole or not at all: fsync (on the thread pool) and atomic replacement. */
import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { syncFolder } from "../platform/sync-folder.ts";

/** Replaces a file's content atomically: a temporary file, fsynced, renamed over it, the folder fsynced. */
export async function replaceFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await syncFolder(dirname(path));
}
