/** Making a folder's entries durable, as each platform allows. */
import { open } from "node:fs/promises";

/**
 * fsync a folder (on the runtime's thread pool), so that a file created, renamed or removed in it
 * survives a crash. Windows has no folder handle to flush (opening one read-only and flushing it
 * fails with EPERM; NTFS journals its metadata itself): nothing to do there.
 */
export async function syncFolder(path: string, platform: string = process.platform): Promise<void> {
  if (platform === "win32") return;
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
