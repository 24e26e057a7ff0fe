/** run's status: sizes read at most once a second, the last rollups, and a valid snapshot with the ingress's part. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { createIngress } from "../../../../src/http/app.ts";
import type { OrderSink } from "../../../../src/pipeline/record-sink.ts";
import { RunRollups, runCollector } from "../../../../src/status/collectors/run.ts";
import { Dependencies } from "../../../../src/status/dependencies.ts";
import { fileSizes } from "../../../../src/status/file-sizes.ts";
import { createStatus } from "../../../../src/status/status.ts";
import { StatusSnapshotSchema } from "../../../../src/status/types.ts";
import { memoryLogger } from "../../../helpers/logger.ts";

describe("run status", () => {
  test("file sizes: the sum of the files there, read again only once a second", () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-sizes-"));
    try {
      let now = 0;
      const a = join(dir, "a");
      const size = fileSizes([a, join(dir, "b")], 1000, () => now);
      expect(size()).toBeUndefined();
      writeFileSync(a, "12345");
      expect(size()).toBeUndefined(); // read less than a second ago
      now = 1000;
      expect(size()).toBe(5);
      writeFileSync(join(dir, "b"), "123");
      now = 1999;
      expect(size()).toBe(5);
      now = 2000;
      expect(size()).toBe(8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("rollups newest first (at most 10), failures with their one-line error; the snapshot is valid", () => {
    let now = Date.UTC(2026, 0, 1);
    const rollups = new RunRollups(() => now);
    for (let i = 1; i <= 12; i++) {
      now += 1000;
      rollups.note({ rows: i * 10, ms: 5.6 });
    }
    rollups.note({ rows: 0, ms: 3, error: new Error("IO Error: disk full\nat …") });
    const list = rollups.list();
    expect(list.length).toBe(10);
    expect(list[0]).toEqual({ at: "2026-01-01T00:00:12.000Z", rows: 0, ms: 3, error: "IO Error: disk full" });
    expect(list[1]).toEqual({ at: "2026-01-01T00:00:12.000Z", rows: 120, ms: 6, error: null });

    const sink: OrderSink = { write: async () => {}, ready: () => true, close: async () => {} };
    const ingress = createIngress({ sink, bodyLimit: 1024, authTokens: [], auth: undefined, maxInFlight: 10, log: memoryLogger().log, version: "t" });
    const collector = runCollector({ ingress, maxInFlight: 10, waiting: () => 2, journalRows: () => 7, walBytes: () => 100, dbBytes: () => undefined, rollups });
    const status = createStatus({ version: "t", config: { port: 1 }, collector, dependencies: new Dependencies() });
    const snap = status.snapshot();
    status.close();
    expect(v.safeParse(StatusSnapshotSchema, snap).issues ?? []).toEqual([]);
    expect(snap.run).toMatchObject({ wal_bytes: 100, db_bytes: null, journal_rows: 7, ingress: { queued: 2, max_in_flight: 10 } });
    expect(snap.run!.rollups.length).toBe(10);
  });
});
