/** The write-ahead log: frames read back in order, a torn tail cut off, the sealed file dropped once applied. */
import { expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openWriteAheadLog } from "../../../src/sinks/write-ahead-log.ts";

const frame = (i: number) => Buffer.from(`frame ${i} ${"x".repeat(i % 50)}`);

test("frames come back in order; a torn tail (a crash mid-write) is cut off", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "ferry-wal-")), "ferry.wal");
  const wal = await openWriteAheadLog(path);
  for (let i = 0; i < 10; i++) await wal.append(frame(i), i + 1);
  await wal.close();
  const good = statSync(path).size;
  appendFileSync(path, Buffer.from([0, 0, 0, 40, 1, 2, 3, 4, 65, 66])); // header of a 40-byte frame, 2 bytes of it
  const again = await openWriteAheadLog(path);
  expect((await again.readAll()).map(String)).toEqual(Array.from({ length: 10 }, (_, i) => String(frame(i))));
  expect(statSync(path).size).toBe(good);
  await again.append(frame(10), 11);
  expect((await again.readAll()).length).toBe(11);
  await again.close();
});

test("a frame whose bytes changed is not trusted (CRC), nor anything after it", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "ferry-wal-")), "ferry.wal");
  const wal = await openWriteAheadLog(path);
  await wal.append(Buffer.from("first"), 1);
  await wal.append(Buffer.from("second"), 2);
  await wal.close();
  const f = Bun.file(path);
  const bytes = new Uint8Array(await f.arrayBuffer());
  const at = 8 + 5 + 8 + 1; // a byte of "second"
  bytes[at] = bytes[at]! ^ 0xff;
  await Bun.write(path, bytes);
  const again = await openWriteAheadLog(path);
  expect((await again.readAll()).map(String)).toEqual(["first"]);
  await again.close();
});

test("under steady load the log is sealed and the sealed part dropped once applied: it stays bounded", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "ferry-wal-")), "ferry.wal");
  const wal = await openWriteAheadLog(path, 1000);
  let applied = 0;
  for (let i = 0; i < 200; i++) {
    await wal.append(frame(i), i + 1);
    applied = Math.max(0, i - 5); // the database lags a few frames behind
    await wal.release(applied);
    expect(statSync(path).size).toBeLessThan(2000);
    if (existsSync(`${path}.1`)) expect(statSync(`${path}.1`).size).toBeLessThan(2000);
  }
  // Not yet applied frames are still there, in order, across the two files.
  const frames = (await wal.readAll()).map(String);
  expect(frames.at(-1)).toBe(String(frame(199)));
  expect(frames).toContain(String(frame(195)));
  await wal.release(200);
  await wal.release(200);
  expect(existsSync(`${path}.1`)).toBe(false);
  await wal.clear();
  expect(await wal.readAll()).toEqual([]);
  await wal.close();
});
