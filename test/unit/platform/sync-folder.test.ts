import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { syncFolder } from "../../../src/platform/sync-folder.ts";

describe("syncFolder", () => {
  test("flushes a folder here; a missing one is an error, never ignored", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-sync-folder-"));
    try {
      await syncFolder(dir);
      await expect(syncFolder(join(dir, "missing"))).rejects.toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("on Windows there is no folder handle to flush: nothing is opened", async () => {
    // A path that cannot be opened here proves nothing was tried.
    await syncFolder("/nonexistent/ferry/folder", "win32");
  });
});
