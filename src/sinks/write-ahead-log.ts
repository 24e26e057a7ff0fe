/**
 * An append-only write-ahead log: records are appended as frames and fsynced (fdatasync) in one
 * call per group of records, so an answer can wait for the disk without waiting for a database
 * transaction. Frame: payload length (u32 BE) | CRC-32 of the payload (u32 BE) | payload. A frame
 * cut short by a crash (never fsynced, so never acknowledged) is found by its length or CRC when
 * the log is read back, and dropped with everything after it.
 *
 * The log is two files so it never grows without bound under steady load: `<path>` takes appends;
 * once it is large it is sealed (renamed to `<path>.1`) and a new one started; the sealed one is
 * deleted as soon as everything in it is applied. Each append says the sequence its frame ends
 * at, so the log knows when a sealed file is no longer needed.
 */
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { crc32 } from "node:zlib";
import { createMutex } from "../db/duckdb.ts";
import { fsyncPath } from "../pipeline/durable-files.ts";

const HEADER = 8;

export interface WriteAheadLog {
  /** Appends one frame whose records end just before sequence `endSeq`, and makes it durable. */
  append(payload: Buffer, endSeq: number): Promise<void>;
  /** Every complete frame, oldest first (a torn tail is cut off). */
  readAll(): Promise<Buffer[]>;
  /** Everything before `appliedSeq` is durable elsewhere: drops what the log no longer needs. */
  release(appliedSeq: number): Promise<void>;
  /** Empties the log (everything in it is durable elsewhere). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

export async function openWriteAheadLog(path: string, rotateBytes = 16 * 1024 * 1024): Promise<WriteAheadLog> {
  const sealedPath = `${path}.1`;
  const dir = dirname(path);
  const serial = createMutex();
  let file: FileHandle = await open(path, "a+");
  await fsyncPath(dir); // the file's creation is durable too
  let size = (await file.stat()).size;
  let end = -1;
  /** Where the sealed file's records end; undefined: no sealed file (or one from before a restart, see readAll). */
  let sealedEnd: number | undefined;

  async function framesOf(handle: FileHandle, length: number): Promise<{ frames: Buffer[]; valid: number }> {
    const bytes = Buffer.allocUnsafe(length);
    await handle.read(bytes, 0, length, 0);
    const frames: Buffer[] = [];
    let o = 0;
    while (o + HEADER <= bytes.length) {
      const n = bytes.readUInt32BE(o);
      if (o + HEADER + n > bytes.length) break;
      const payload = bytes.subarray(o + HEADER, o + HEADER + n);
      if (crc32(payload) !== bytes.readUInt32BE(o + 4)) break;
      frames.push(payload);
      o += HEADER + n;
    }
    return { frames, valid: o };
  }

  return {
    append: (payload, endSeq) =>
      serial(async () => {
        const frame = Buffer.allocUnsafe(HEADER + payload.length);
        frame.writeUInt32BE(payload.length, 0);
        frame.writeUInt32BE(crc32(payload), 4);
        payload.copy(frame, HEADER);
        await file.write(frame, 0, frame.length, null);
        await file.datasync();
        size += frame.length;
        end = endSeq;
      }),
    readAll: () =>
      serial(async () => {
        const frames: Buffer[] = [];
        if (existsSync(sealedPath)) {
          const sealed = await open(sealedPath, "r");
          try {
            frames.push(...(await framesOf(sealed, (await sealed.stat()).size)).frames);
          } finally {
            await sealed.close();
          }
        }
        const current = await framesOf(file, size);
        if (current.valid < size) {
          await file.truncate(current.valid);
          await file.datasync();
          size = current.valid;
        }
        return [...frames, ...current.frames];
      }),
    release: (appliedSeq) =>
      serial(async () => {
        if (sealedEnd !== undefined && appliedSeq >= sealedEnd) {
          await rm(sealedPath, { force: true });
          await fsyncPath(dir);
          sealedEnd = undefined;
        }
        if (size < rotateBytes) return;
        if (appliedSeq >= end) {
          await file.truncate(0); // all of it applied: start over in place
          await file.datasync();
          size = 0;
        } else if (sealedEnd === undefined) {
          await file.close();
          await rename(path, sealedPath);
          file = await open(path, "a+");
          await fsyncPath(dir);
          sealedEnd = end;
          size = 0;
        }
      }),
    clear: () =>
      serial(async () => {
        await rm(sealedPath, { force: true });
        await file.truncate(0);
        await file.datasync();
        await fsyncPath(dir);
        size = 0;
        sealedEnd = undefined;
      }),
    close: () => serial(() => file.close()),
  };
}
