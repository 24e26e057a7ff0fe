/** Files that survive a crash whole or not at all: fsync (on the thread pool) and atomic replacement. */
import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";

/** fsync a file or a folder on the runtime's thread pool: the event loop goes on meanwhile. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

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
  await fsyncPath(dirname(path));
}
