/**
 * The write-ahead log: frames read back in order; a torn tail cut off; a damaged frame costs itself
 * only and is reported; the sealed file dropped once applied; a log of the previous release read;
 * and no failed write or fdatasync ever acknowledged or left for a later frame to sit behind.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { UnavailableError } from "../../../src/pipeline/errors.ts";
import { FRAME_HEADER, FRAME_MAGIC } from "../../../src/sinks/wal-frames.ts";
import { openWriteAheadLog, type WalContents } from "../../../src/sinks/write-ahead-log.ts";
import { faultyFiles } from "../../helpers/faulty-file.ts";
import { memoryLogger } from "../../helpers/logger.ts";

const RUNS = Number(process.env.FERRY_FUZZ_RUNS ?? 60);
const SEED = Number(process.env.FERRY_FUZZ_SEED ?? 19);
/** A longer run (FERRY_FUZZ_RUNS) gets the time it needs. */
const FUZZ_TIMEOUT = Math.max(30_000, RUNS * 20);

const frame = (i: number) => Buffer.from(`frame ${i} ${"x".repeat(i % 50)}`);
const walPath = () => join(mkdtempSync(join(tmpdir(), "ferry-wal-")), "ferry.wal");
const texts = (c: WalContents) => c.frames.map((f) => String(f.payload));
const ranges = (c: WalContents) => c.frames.map((f) => [f.firstSeq, f.count]);

/** A frame of the previous release: u32 length BE | CRC-32 BE | payload. */
const legacyFrame = (payload: Buffer) => {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(payload.length, 0);
  h.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([h, payload]);
};

async function reread(path: string): Promise<WalContents> {
  const wal = await openWriteAheadLog(path);
  try {
    return await wal.readAll();
  } finally {
    await wal.close();
  }
}

describe("reading back", () => {
  test("frames come back in order with their sequence ranges; a torn tail (a crash mid-write) is cut off and reported", async () => {
    const path = walPath();
    const wal = await openWriteAheadLog(path);
    for (let i = 0; i < 10; i++) await wal.append(frame(i), i * 3, 3);
    await wal.close();
    const good = statSync(path).size;
    const torn = Buffer.alloc(FRAME_HEADER + 5);
    torn.set(readFileSync(path).subarray(0, FRAME_HEADER + 5)); // a frame's header and 5 bytes of its payload
    appendFileSync(path, torn.subarray(0, FRAME_HEADER + 2));
    const { log, lines } = memoryLogger("notice");
    const again = await openWriteAheadLog(path, { log });
    const c = await again.readAll();
    expect(texts(c)).toEqual(Array.from({ length: 10 }, (_, i) => String(frame(i))));
    expect(ranges(c)).toEqual(Array.from({ length: 10 }, (_, i) => [i * 3, 3]));
    expect(c.damaged).toEqual([]);
    expect(c.tornTail).toMatchObject({ offset: good, bytes: FRAME_HEADER + 2 });
    expect(lines.join("")).toContain("cut a torn tail off the write-ahead log");
    expect(statSync(path).size).toBe(good);
    await again.append(frame(10), 30, 1);
    expect((await again.readAll()).frames.length).toBe(11);
    await again.close();
  });

  test("a frame whose bytes changed is lost alone and reported (offset, bytes, its sequences); the frames after it are read", async () => {
    const path = walPath();
    const wal = await openWriteAheadLog(path);
    await wal.append(Buffer.from("first"), 0, 1);
    await wal.append(Buffer.from("second"), 1, 2);
    await wal.append(Buffer.from("third"), 3, 1);
    await wal.close();
    const bytes = readFileSync(path);
    const second = FRAME_HEADER + 5;
    bytes[second + FRAME_HEADER + 1]! ^= 0xff; // a byte of "second"'s payload
    writeFileSync(path, bytes);
    const { log, lines } = memoryLogger("notice");
    const again = await openWriteAheadLog(path, { log });
    const c = await again.readAll();
    expect(texts(c)).toEqual(["first", "third"]);
    expect(c.damaged).toEqual([{ file: path, offset: second, bytes: FRAME_HEADER + 6, reason: "unreadable", sequences: [{ firstSeq: 1, count: 2 }] }]);
    expect(c.tornTail).toBeUndefined();
    const logged = lines.map((l) => JSON.parse(l));
    expect(logged.find((l) => l.msg.startsWith("the write-ahead log has a damaged region"))).toMatchObject({ offset: second, bytes: FRAME_HEADER + 6 });
    expect(logged.find((l) => l.msg === "write-ahead log damage in total")).toMatchObject({ regions: 1, bytes: FRAME_HEADER + 6, sequences: 2 });
    await again.close();
  });

  test("a log written by the previous release (no magic, no ranges) is read, and frames appended after it too", async () => {
    const path = walPath();
    const rows = (from: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => JSON.stringify({ order_id: `o${from + i}`, kafka_offset: from + i })).join("\n"));
    writeFileSync(path, Buffer.concat([legacyFrame(rows(0, 3)), legacyFrame(rows(3, 2)), legacyFrame(rows(5, 4))]));
    const wal = await openWriteAheadLog(path);
    let c = await wal.readAll();
    expect(texts(c)).toEqual([String(rows(0, 3)), String(rows(3, 2)), String(rows(5, 4))]);
    expect(c.frames.every((f) => f.firstSeq === undefined)).toBe(true);
    await wal.append(rows(9, 1), 9, 1);
    c = await wal.readAll();
    expect(texts(c)).toEqual([String(rows(0, 3)), String(rows(3, 2)), String(rows(5, 4)), String(rows(9, 1))]);
    await wal.close();
  });

  test("a duplicated frame is read once (the first kept) and reported as a duplicate", async () => {
    const path = walPath();
    const wal = await openWriteAheadLog(path);
    await wal.append(Buffer.from("a"), 0, 1);
    await wal.append(Buffer.from("b"), 1, 1);
    await wal.close();
    const bytes = readFileSync(path);
    const b = bytes.subarray(FRAME_HEADER + 1);
    writeFileSync(path, Buffer.concat([bytes, b, b]));
    const c = await reread(path);
    expect(texts(c)).toEqual(["a", "b"]);
    expect(c.damaged.map((d) => [d.reason, d.offset])).toEqual([
      ["duplicate", bytes.length],
      ["duplicate", bytes.length + b.length],
    ]);
  });

  test("what a frame cannot hold is refused before anything is written", async () => {
    const wal = await openWriteAheadLog(walPath());
    await expect(wal.append(Buffer.concat([Buffer.from("x"), FRAME_MAGIC]), 0, 1)).rejects.toThrow("frame magic");
    await expect(wal.append(Buffer.from("x"), -1, 1)).rejects.toThrow("first sequence");
    await expect(wal.append(Buffer.from("x"), 0, 0)).rejects.toThrow("record count");
    await wal.append(Buffer.from("x"), 5, 2);
    await expect(wal.append(Buffer.from("y"), 6, 1)).rejects.toThrow("handed out already"); // a sequence is never used twice
    expect(texts(await wal.readAll())).toEqual(["x"]);
    await wal.close();
  });
});

test("under steady load the log is sealed and the sealed part dropped once applied: it stays bounded", async () => {
  const path = walPath();
  const wal = await openWriteAheadLog(path, { rotateBytes: 1000 });
  let applied = 0;
  for (let i = 0; i < 200; i++) {
    await wal.append(frame(i), i, 1);
    applied = Math.max(0, i - 5); // the database lags a few frames behind
    await wal.release(applied);
    expect(statSync(path).size).toBeLessThan(2000);
    if (existsSync(`${path}.1`)) expect(statSync(`${path}.1`).size).toBeLessThan(2000);
  }
  // Not yet applied frames are still there, in order, across the two files.
  const frames = texts(await wal.readAll());
  expect(frames.at(-1)).toBe(String(frame(199)));
  expect(frames).toContain(String(frame(195)));
  await wal.release(200);
  await wal.release(200);
  expect(existsSync(`${path}.1`)).toBe(false);
  await wal.clear();
  expect((await wal.readAll()).frames).toEqual([]);
  await wal.close();
});

describe("failed writes are never acknowledged, and never stay for a later frame to sit behind", () => {
  async function setup() {
    const path = walPath();
    const files = faultyFiles();
    const { log, lines } = memoryLogger("notice");
    const wal = await openWriteAheadLog(path, { open: files.open, log });
    await wal.append(Buffer.from("zero"), 0, 1);
    return { path, files, wal, lines, good: statSync(path).size };
  }
  const unavailable = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(UnavailableError);
    return e as UnavailableError;
  };

  test("a short write is completed (the rest written), never acknowledged half", async () => {
    const { path, files, wal } = await setup();
    files.plan({ op: "write", kind: "short", bytes: 3 }, { op: "write", kind: "short", bytes: 1 });
    await wal.append(Buffer.from("one"), 1, 1);
    expect(files.pending()).toBe(0);
    await wal.close();
    expect(texts(await reread(path))).toEqual(["zero", "one"]);
  });

  test("a write that stops short (0 bytes) fails: the half frame is truncated away, the next append lands where it was", async () => {
    const { path, files, wal, good } = await setup();
    files.plan({ op: "write", kind: "short", bytes: 10 }, { op: "write", kind: "short", bytes: 0 });
    expect((await unavailable(wal.append(Buffer.from("lost"), 1, 1))).message).toContain("short write");
    expect(statSync(path).size).toBe(good);
    await wal.append(Buffer.from("one"), 1, 1); // the failed frame's sequences were never on disk: they may be used
    await wal.close();
    expect(texts(await reread(path))).toEqual(["zero", "one"]);
  });

  for (const kind of ["EIO", "ENOSPC"] as const) {
    test(`${kind} on write after half the frame reached the file: refused, truncated back, later appends read after restart`, async () => {
      const { path, files, wal, good, lines } = await setup();
      files.plan({ op: "write", kind });
      expect((await unavailable(wal.append(Buffer.from("lost frame"), 1, 1))).message).toContain(kind);
      expect(statSync(path).size).toBe(good);
      expect(lines.join("")).toContain("truncated back to its last good size");
      await wal.append(Buffer.from("one"), 1, 1);
      await wal.append(Buffer.from("two"), 2, 1);
      await wal.close();
      const c = await reread(path);
      expect(texts(c)).toEqual(["zero", "one", "two"]);
      expect(c.damaged).toEqual([]);
    });
  }

  test("EIO on fdatasync: refused; the file is not trusted, its good bytes are rewritten into a new file without the frame", async () => {
    const { path, files, wal, good, lines } = await setup();
    const inode = statSync(path).ino;
    files.plan({ op: "datasync", kind: "EIO" });
    expect((await unavailable(wal.append(Buffer.from("not durable"), 1, 1))).message).toContain("fdatasync");
    expect(statSync(path).ino).not.toBe(inode); // a new file
    expect(statSync(path).size).toBe(good);
    expect(readFileSync(path).includes("not durable")).toBe(false);
    expect(lines.join("")).toContain("rewritten into a new file");
    await wal.append(Buffer.from("one"), 1, 1);
    await wal.close();
    expect(texts(await reread(path))).toEqual(["zero", "one"]);
  });

  test("when the rewrite fails too, every append is refused (503) until it succeeds; nothing is acknowledged behind the failed frame", async () => {
    const { path, files, wal, lines } = await setup();
    files.plan({ op: "datasync", kind: "EIO" });
    files.fail("open", "EIO"); // the new file cannot be created
    await unavailable(wal.append(Buffer.from("not durable"), 1, 1));
    for (let i = 0; i < 3; i++) expect((await unavailable(wal.append(Buffer.from("refused"), 1, 1))).message).toContain("refuses appends");
    expect(lines.filter((l) => l.includes("rewriting the write-ahead log failed")).length).toBe(1); // one line per state change
    // A crash now: the failed frame may be read after a restart (never acknowledged, nothing behind it).
    const crashed = await reread(path);
    expect(texts(crashed).slice(0, 1)).toEqual(["zero"]);
    expect(crashed.frames.length).toBeLessThanOrEqual(2);
    files.heal();
    await wal.append(Buffer.from("one"), 1, 1);
    await wal.close();
    expect(texts(await reread(path))).toEqual(["zero", "one"]);
  });

  test("a write fault and then a failing truncate: the log is rewritten before anything else is appended", async () => {
    const { path, files, wal } = await setup();
    files.plan({ op: "write", kind: "EIO", bytes: 7 }, { op: "truncate", kind: "EIO" });
    await unavailable(wal.append(Buffer.from("lost frame"), 1, 1));
    await wal.append(Buffer.from("one"), 1, 1);
    await wal.close();
    const c = await reread(path);
    expect(texts(c)).toEqual(["zero", "one"]);
    expect(c.damaged).toEqual([]);
  });

  test("emptying an applied log that fails to sync: release does not fail the apply; the log is rewritten empty", async () => {
    const path = walPath();
    const files = faultyFiles();
    const wal = await openWriteAheadLog(path, { open: files.open, rotateBytes: 100 });
    for (let i = 0; i < 5; i++) await wal.append(frame(i), i, 1);
    files.plan({ op: "sync", kind: "EIO" });
    await wal.release(5); // all applied: emptied in place, whose fsync fails
    expect(statSync(path).size).toBe(0);
    await wal.append(frame(5), 5, 1);
    await wal.close();
    expect(texts(await reread(path))).toEqual([String(frame(5))]);
  });

  test("property: under random faults, exactly the acknowledged frames are read back after a restart, in order", async () => {
    const faultArb = fc.option(
      fc.record({
        op: fc.constantFrom("write" as const, "datasync" as const, "truncate" as const, "sync" as const, "open" as const),
        kind: fc.constantFrom("short" as const, "EIO" as const, "ENOSPC" as const),
        bytes: fc.nat({ max: 60 }),
      }),
      { freq: 2 },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 4 }), fc.array(faultArb, { maxLength: 3 })), { minLength: 1, maxLength: 12 }), async (steps) => {
        const path = walPath();
        const files = faultyFiles();
        const wal = await openWriteAheadLog(path, { open: files.open });
        const acked: string[] = [];
        let seq = 0;
        for (const [text, count, faults] of steps) {
          files.heal();
          files.plan(...faults.filter((f) => f !== null));
          try {
            await wal.append(Buffer.from(text), seq, count);
            acked.push(text);
            seq += count;
          } catch (e) {
            expect(e).toBeInstanceOf(UnavailableError);
          }
        }
        files.heal();
        await wal.append(Buffer.from("last"), seq, 1); // without faults: it succeeds (rewriting the file first if a failure left it untrusted)
        acked.push("last");
        await wal.close();
        const c = await reread(path);
        expect(texts(c)).toEqual(acked);
        expect(c.damaged).toEqual([]);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, FUZZ_TIMEOUT);
});
