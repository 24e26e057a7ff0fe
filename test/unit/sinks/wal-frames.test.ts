/**
 * The write-ahead log's reader against damaged bytes (src/sinks/wal-frames.ts), property-based:
 * N frames are encoded, then damaged (cut anywhere, bytes flipped, garbage or fake headers
 * inserted, whole frames duplicated anywhere, regions zero-filled as after a power loss). For
 * every damage: each frame whose bytes are intact is read back exactly once, in sequence order;
 * nothing is invented (every frame read is one that was written, byte for byte); every byte is
 * accounted for (a frame read, a reported region or the torn tail); and a lost frame whose header
 * survived is named in a report with its sequences.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { encodeFrame, FRAME_HEADER, FRAME_MAGIC, frameProblem, scanFrames, type DamagedRegion, type ScannedFrame } from "../../../src/sinks/wal-frames.ts";
import { openWriteAheadLog } from "../../../src/sinks/write-ahead-log.ts";

const RUNS = Number(process.env.FERRY_FUZZ_RUNS ?? 400);
const SEED = Number(process.env.FERRY_FUZZ_SEED ?? 19);
/** A longer run (FERRY_FUZZ_RUNS) gets the time it needs. */
const FUZZ_TIMEOUT = Math.max(30_000, RUNS * 20);

interface Written {
  payload: Buffer;
  firstSeq: number;
  count: number;
  /** Where the frame's bytes were in the undamaged log. */
  start: number;
  end: number;
}

/** Payloads as the log takes them: text (UTF-8 never holds 0xFF), or bytes without the magic. */
const payloadArb = fc.oneof(
  fc.string({ maxLength: 120, unit: "binary" }).map((s) => Buffer.from(s, "utf8")),
  fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)).filter((b) => frameProblem(b, 0, 1) === undefined),
);
const logArb = fc.record({
  base: fc.nat({ max: 1_000_000 }),
  frames: fc.array(fc.tuple(payloadArb, fc.integer({ min: 1, max: 5 })), { minLength: 1, maxLength: 16 }),
});

type Damage =
  | { kind: "cut"; at: number }
  | { kind: "flip"; at: number; masks: number[] }
  | { kind: "garbage"; at: number; bytes: number[] }
  | { kind: "fake-header"; at: number; bytes: number[] }
  | { kind: "duplicate"; at: number; frame: number }
  | { kind: "zero"; at: number; length: number };
/** Positions are fractions of the log's length at the time the damage is done. */
const at = fc.double({ min: 0, max: 1, noNaN: true });
const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant("cut" as const), at }),
  fc.record({ kind: fc.constant("flip" as const), at, masks: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("garbage" as const), at, bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant("fake-header" as const), at, bytes: fc.array(fc.nat({ max: 255 }), { minLength: 0, maxLength: 40 }) }),
  fc.record({ kind: fc.constant("duplicate" as const), at, frame: fc.nat() }),
  fc.record({ kind: fc.constant("zero" as const), at, length: fc.integer({ min: 1, max: 600 }) }),
);

function writeLog(spec: { base: number; frames: [Buffer, number][] }): { bytes: Buffer; written: Written[] } {
  const written: Written[] = [];
  const parts: Buffer[] = [];
  let seq = spec.base;
  let o = 0;
  for (const [payload, count] of spec.frames) {
    const f = encodeFrame(payload, seq, count);
    written.push({ payload, firstSeq: seq, count, start: o, end: o + f.length });
    parts.push(f);
    seq += count;
    o += f.length;
  }
  return { bytes: Buffer.concat(parts), written };
}

/** Applies the damage; `origin[i]` is where byte i was in the undamaged log (-1: not from there, or changed). */
function damage(original: Buffer, written: Written[], damages: Damage[]): { bytes: Buffer; origin: Int32Array } {
  let bytes = Buffer.from(original);
  let origin = Int32Array.from(bytes, (_, i) => i);
  const insert = (pos: number, add: Buffer) => {
    bytes = Buffer.concat([bytes.subarray(0, pos), add, bytes.subarray(pos)]);
    origin = Int32Array.from([...origin.subarray(0, pos), ...new Array<number>(add.length).fill(-1), ...origin.subarray(pos)]);
  };
  for (const d of damages) {
    const pos = Math.floor(d.at * bytes.length);
    switch (d.kind) {
      case "cut":
        bytes = bytes.subarray(0, pos);
        origin = origin.subarray(0, pos);
        break;
      case "flip":
        d.masks.forEach((m, k) => {
          if (pos + k < bytes.length) {
            bytes[pos + k]! ^= m;
            origin[pos + k] = -1;
          }
        });
        break;
      case "zero":
        for (let k = pos; k < Math.min(bytes.length, pos + d.length); k++) {
          if (bytes[k] !== 0) origin[k] = -1;
          bytes[k] = 0;
        }
        break;
      case "garbage":
        insert(pos, Buffer.from(d.bytes));
        break;
      case "fake-header":
        insert(pos, Buffer.concat([FRAME_MAGIC, Buffer.from(d.bytes)]));
        break;
      case "duplicate": {
        const w = written[d.frame % written.length]!;
        insert(pos, original.subarray(w.start, w.end));
        break;
      }
    }
  }
  return { bytes, origin };
}

/** Whether bytes [start, end) of the undamaged log are all still there, unchanged and together. */
function intact(origin: Int32Array, start: number, end: number): boolean {
  const pos = origin.indexOf(start);
  if (pos === -1) return false;
  for (let k = 0; k < end - start; k++) if (origin[pos + k] !== start + k) return false;
  return true;
}

function checkInvariant(written: Written[], bytes: Buffer, origin: Int32Array, scan: ReturnType<typeof scanFrames>) {
  const bySeq = new Map(written.map((w) => [w.firstSeq, w]));
  // Nothing invented, each sequence once, in order.
  let next = -1;
  for (const f of scan.frames) {
    const w = bySeq.get(f.firstSeq!);
    expect(w).toBeDefined();
    expect(f.count).toBe(w!.count);
    expect(Buffer.compare(f.payload, w!.payload)).toBe(0);
    expect(f.firstSeq!).toBeGreaterThanOrEqual(next);
    next = f.firstSeq! + f.count!;
  }
  // Every intact frame read.
  const read = new Set(scan.frames.map((f) => f.firstSeq));
  for (const w of written) if (intact(origin, w.start, w.end)) expect(read.has(w.firstSeq)).toBe(true);
  // Every byte accounted for: frames read, regions reported, the torn tail; in file order, no gap, no overlap.
  const regions: { offset: number; length: number }[] = [
    ...scan.frames.map((f: ScannedFrame) => ({ offset: f.offset, length: f.length })),
    ...[...scan.damaged, ...(scan.tail ? [scan.tail] : [])].map((d: DamagedRegion) => ({ offset: d.offset, length: d.bytes })),
  ].sort((a, b) => a.offset - b.offset);
  let o = 0;
  for (const r of regions) {
    expect(r.offset).toBe(o);
    expect(r.length).toBeGreaterThan(0);
    o += r.length;
  }
  expect(o).toBe(bytes.length);
  expect(scan.validEnd).toBe(scan.tail ? scan.tail.offset : bytes.length);
  // A lost frame whose header survived is named with its sequences.
  const named = new Set([...scan.damaged, ...(scan.tail ? [scan.tail] : [])].flatMap((d) => d.sequences.map((s) => `${s.firstSeq}+${s.count}`)));
  for (const w of written) if (!read.has(w.firstSeq) && intact(origin, w.start, w.start + FRAME_HEADER)) expect(named.has(`${w.firstSeq}+${w.count}`)).toBe(true);
}

describe("frames", () => {
  test("encode → scan gives every frame back with its range; empty and text payloads alike", () => {
    const { bytes, written } = writeLog({ base: 7, frames: [[Buffer.from("a\nb"), 2], [Buffer.alloc(0), 1], [Buffer.from("é ☃ 𝄞"), 3]] });
    const scan = scanFrames(bytes);
    expect(scan.frames.map((f) => [String(f.payload), f.firstSeq, f.count, f.offset])).toEqual(written.map((w) => [String(w.payload), w.firstSeq, w.count, w.start]));
    expect(scan.damaged).toEqual([]);
    expect(scan.tail).toBeUndefined();
    expect(scan.seqEnd).toBe(13);
  });

  test("frames of the previous release are read from the start of a file, then current frames; damage after them costs only what it hits", () => {
    const legacy = (text: string) => {
      const p = Buffer.from(text);
      const h = Buffer.alloc(8);
      h.writeUInt32BE(p.length, 0);
      h.writeUInt32BE(crc32(p), 4);
      return Buffer.concat([h, p]);
    };
    const cur = [encodeFrame(Buffer.from("new 1"), 10, 1), encodeFrame(Buffer.from("new 2"), 11, 1), encodeFrame(Buffer.from("new 3"), 12, 1)];
    const bytes = Buffer.concat([legacy("old 1"), legacy("old 2"), ...cur]);
    bytes[bytes.length - cur[2]!.length - 2]! ^= 1; // "new 2" damaged
    const scan = scanFrames(bytes);
    expect(scan.frames.map((f) => String(f.payload))).toEqual(["old 1", "old 2", "new 1", "new 3"]);
    expect(scan.damaged.map((d) => [d.offset, d.bytes, d.sequences])).toEqual([[26 + cur[0]!.length, cur[1]!.length, [{ firstSeq: 11, count: 1 }]]]);
  });

  test("a zero-filled start (a power loss) is not read as frames of the previous format (they are never empty)", () => {
    const f = encodeFrame(Buffer.from("kept"), 0, 1);
    const scan = scanFrames(Buffer.concat([Buffer.alloc(64), f]));
    expect(scan.frames.map((x) => String(x.payload))).toEqual(["kept"]);
    expect(scan.damaged.map((d) => [d.offset, d.bytes])).toEqual([[0, 64]]);
  });

  test("a frame copied before the frames it follows does not hide them (sequence order, each range once)", () => {
    const { bytes, written } = writeLog({ base: 0, frames: [[Buffer.from("a"), 1], [Buffer.from("b"), 1], [Buffer.from("c"), 1]] });
    const c = bytes.subarray(written[2]!.start, written[2]!.end);
    const scan = scanFrames(Buffer.concat([c, bytes]));
    expect(scan.frames.map((f) => String(f.payload))).toEqual(["a", "b", "c"]);
    expect(scan.damaged.map((d) => [d.reason, d.offset])).toEqual([["duplicate", c.length + written[2]!.start]]);
  });

  test("property: damaged logs give back every intact frame once, in order, invent nothing and account for every byte", () => {
    fc.assert(
      fc.property(logArb, fc.array(damageArb, { minLength: 1, maxLength: 5 }), (spec, damages) => {
        const { bytes: original, written } = writeLog(spec);
        const { bytes, origin } = damage(original, written, damages);
        checkInvariant(written, bytes, origin, scanFrames(bytes));
      }),
      { numRuns: RUNS * 5, seed: SEED },
    );
  }, FUZZ_TIMEOUT);
});

test("property: through the log's files — damaged, reopened, read: the same invariant; the torn tail cut, appends read after it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-wal-fuzz-"));
  let n = 0;
  await fc.assert(
    fc.asyncProperty(logArb, fc.array(damageArb, { minLength: 1, maxLength: 4 }), async (spec, damages) => {
      const path = join(dir, `wal-${n++}`);
      const wal = await openWriteAheadLog(path);
      let seq = spec.base;
      for (const [payload, count] of spec.frames) {
        await wal.append(payload, seq, count);
        seq += count;
      }
      await wal.close();
      const { bytes: original, written } = writeLog(spec);
      expect(Buffer.compare(readFileSync(path), original)).toBe(0); // the file is what the reader is tested on
      const { bytes, origin } = damage(original, written, damages);
      writeFileSync(path, bytes);
      const again = await openWriteAheadLog(path);
      const c = await again.readAll();
      const scan = scanFrames(bytes);
      checkInvariant(written, bytes, origin, scan);
      expect(c.frames.map((f) => [f.firstSeq, f.count, String(f.payload)])).toEqual(scan.frames.map((f) => [f.firstSeq, f.count, String(f.payload)]));
      expect(c.damaged.length).toBe(scan.damaged.length);
      expect(readFileSync(path).length).toBe(scan.validEnd); // only the torn tail is cut
      // Appending after the damage: the new frame is read, after everything read before.
      const after = Math.max(seq, scan.seqEnd);
      await again.append(Buffer.from("after"), after, 1);
      const c2 = await again.readAll();
      expect(c2.frames.map((f) => f.firstSeq)).toEqual([...c.frames.map((f) => f.firstSeq), after]);
      await again.close();
    }),
    { numRuns: RUNS, seed: SEED },
  );
}, FUZZ_TIMEOUT);
