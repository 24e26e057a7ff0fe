/**
 * `ferry run` (the compiled binary, dist/ferry) starting on a damaged write-ahead log, as left by a
 * crash before the acknowledged orders reached the database: a frame in the middle damaged,
 * garbage between frames, a frame duplicated, a torn tail. The intact orders are in the table, the
 * damage is logged (where, how many bytes, which sequences), ferry serves (POST → 202) and starts
 * again. And a log written by the previous release (no frame magic, no sequence ranges) is read at
 * the first start after an upgrade.
 */
import { beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { encodeFrame, FRAME_MAGIC } from "../../../src/sinks/wal-frames.ts";
import { BINARY, startFerry } from "../../helpers/ferry-process.ts";

const BIN = BINARY[0]!;

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error("dist/ferry is missing: run `node_modules/.bin/bun scripts/build.ts`");
});

/** Rows as `ferry run` journals them: the order, its lineage, ferry's sequence as the offset. */
const row = (seq: number) =>
  JSON.stringify({ order_id: `w${seq}`, product: `product ${seq}`, quantity: 1 + (seq % 7), price: 2.5, ordered_at: "2026-05-01T12:00:00.000Z", kafka_topic: "orders", kafka_partition: 0, kafka_offset: seq, ingested_at: "2026-05-01T12:00:01.000Z" });
const rows = (from: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => row(from + i)).join("\n"));

async function startRun(dataDir: string) {
  const ferry = await startFerry(["run", "--data-dir", dataDir, "--port", "0", "--log-level", "notice"], {}, BINARY);
  return {
    url: ferry.url,
    logs: () =>
      ferry
        .stderr()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    stop: () => ferry.stop(),
  };
}

function query(dataDir: string, sql: string): string {
  const p = Bun.spawnSync([BIN, "query", "--data-dir", dataDir, "--format", "csv", sql]);
  if (p.exitCode !== 0) throw new Error(`ferry query failed (${p.exitCode}): ${p.stderr}`);
  return p.stdout.toString().trim().split("\n").slice(1).join("\n");
}

const post = (url: string, id: string) =>
  fetch(`${url}/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ order_id: id, product: "after", quantity: 1, price: 1 }) });

test("a damaged log: the intact acknowledged orders are applied, the damage logged, ferry serves and starts again", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ferry-run-wal-"));
  const frames = Array.from({ length: 6 }, (_, i) => encodeFrame(rows(i * 5, 5), i * 5, 5)); // sequences 0..29
  const damaged = Buffer.from(frames[2]!); // w10..w14
  damaged[damaged.length - 20]! ^= 0x20;
  const garbage = Buffer.concat([Buffer.from([0, 0]), FRAME_MAGIC, Buffer.from(" not a frame at all, bytes from nowhere")]);
  const torn = encodeFrame(rows(30, 5), 30, 5).subarray(0, 70); // a write cut short by the crash
  const file = Buffer.concat([frames[0]!, frames[1]!, damaged, frames[3]!, garbage, frames[4]!, frames[5]!, frames[4]!, torn]);
  writeFileSync(join(dataDir, "ferry.wal"), file);
  const damagedAt = frames[0]!.length + frames[1]!.length;

  const ferry = await startRun(dataDir);
  expect((await post(ferry.url, "after-1")).status).toBe(202);
  expect(query(dataDir, "select count(*) from orders")).toBe("26"); // through the running ferry's socket
  expect(await ferry.stop()).toBe(0);
  const logs = ferry.logs();
  const regions = logs.filter((l) => String(l.msg).startsWith("the write-ahead log has a damaged region"));
  expect(regions.map((l) => [l.offset, l.bytes, l.sequences])).toEqual([
    [damagedAt, damaged.length, [{ firstSeq: 10, count: 5 }]],
    [damagedAt + damaged.length + frames[3]!.length, garbage.length, []],
  ]);
  expect(logs.find((l) => String(l.msg).startsWith("skipped a duplicate frame"))).toMatchObject({ sequences: [{ firstSeq: 20, count: 5 }] });
  expect(logs.find((l) => String(l.msg).startsWith("cut a torn tail"))).toMatchObject({ bytes: torn.length, sequences: [{ firstSeq: 30, count: 5 }] });
  expect(logs.find((l) => l.msg === "applied orders from the write-ahead log")).toMatchObject({ rows: 25 });

  const expected = [...Array.from({ length: 30 }, (_, i) => i).filter((i) => i < 10 || i >= 15).map((i) => `w${i}`), "after-1"].sort();
  expect(query(dataDir, "select order_id from orders order by order_id").split("\n")).toEqual(expected);

  // Again: nothing replayed twice, no sequence used twice, still serving.
  const again = await startRun(dataDir);
  expect((await post(again.url, "after-2")).status).toBe(202);
  expect(await again.stop()).toBe(0);
  expect(query(dataDir, "select count(*), count(distinct kafka_offset), max(kafka_offset) from orders")).toBe("27,27,31");
  expect(query(dataDir, "select count(*), count(distinct order_id) from lake")).toBe("27,27");
}, 90_000);

test("a log written by the previous release (length | CRC-32 | rows) is read at the first start after an upgrade", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ferry-run-wal-old-"));
  const legacy = (payload: Buffer) => {
    const h = Buffer.alloc(8);
    h.writeUInt32BE(payload.length, 0);
    h.writeUInt32BE(crc32(payload), 4);
    return Buffer.concat([h, payload]);
  };
  writeFileSync(join(dataDir, "ferry.wal"), Buffer.concat([legacy(rows(0, 4)), legacy(rows(4, 3)), legacy(rows(7, 5)), Buffer.from([0, 0, 1, 0, 9, 9])]));
  const ferry = await startRun(dataDir);
  expect((await post(ferry.url, "after-1")).status).toBe(202);
  expect(await ferry.stop()).toBe(0);
  expect(ferry.logs().find((l) => l.msg === "applied orders from the write-ahead log")).toMatchObject({ rows: 12 });
  expect(query(dataDir, "select count(*), min(kafka_offset), max(kafka_offset) from orders")).toBe("13,0,12");
}, 60_000);
