/**
 * An append-only write-ahead log file: records are appended as frames and fsynced (fdatasync) in
 * one call per group of records, so an answer can wait for the disk without waiting for a
 * database transaction. Frame: payload length (u32 BE) | CRC-32 of the payload (u32 BE) | payload.
 * A frame cut short by a crash (never fsynced, so never acknowledged) is found by its length or
 * CRC when the log is read back, and dropped with everything after it.
 */
import { open, type FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { dirname } from "node:path";
import { fsyncPath } from "../pipeline/durable-files.ts";

const HEADER = 8;

export interface WriteAheadLog {
  /** Appends one frame and makes it durable. */
  append(payload: Buffer): Promise<void>;
  /** Every complete frame, in order (a torn tail is cut off the file). */
  readAll(): Promise<Buffer[]>;
  /** Empties the log (everything in it is durable elsewhere). */
  truncate(): Promise<void>;
  readonly size: number;
  close(): Promise<void>;
}

export async function openWriteAheadLog(path: string): Promise<WriteAheadLog> {
  const file: FileHandle = await open(path, "a+");
  await fsyncPath(dirname(path)); // the file's creation is durable too
  let size = (await file.stat()).size;
  return {
    get size() {
      return size;
    },
    async append(payload) {
      const frame = Buffer.allocUnsafe(HEADER + payload.length);
      frame.writeUInt32BE(payload.length, 0);
      frame.writeUInt32BE(crc32(payload), 4);
      payload.copy(frame, HEADER);
      await file.write(frame, 0, frame.length, null);
      await file.datasync();
      size += frame.length;
    },
    async readAll() {
      const bytes = Buffer.allocUnsafe(size);
      await file.read(bytes, 0, size, 0);
      const frames: Buffer[] = [];
      let o = 0;
      while (o + HEADER <= bytes.length) {
        const length = bytes.readUInt32BE(o);
        if (o + HEADER + length > bytes.length) break;
        const payload = bytes.subarray(o + HEADER, o + HEADER + length);
        if (crc32(payload) !== bytes.readUInt32BE(o + 4)) break;
        frames.push(payload);
        o += HEADER + length;
      }
      if (o < bytes.length) {
        await file.truncate(o);
        await file.datasync();
        size = o;
      }
      return frames;
    },
    async truncate() {
      await file.truncate(0);
      await file.datasync();
      size = 0;
    },
    close: () => file.close(),
  };
}
