/**
 * An append-only write-ahead log: records are appended as frames (see wal-frames.ts) and made
 * durable (fdatasync) in one call per group of records, so an answer can wait for the disk without
 * waiting for a database transaction. Reading it back survives damage: a damaged frame costs that
 * frame only and is reported (where, how many bytes, which sequences); a torn tail (a write cut
 * short by a crash, never acknowledged) is cut off.
 *
 * An append resolves only once its whole frame is written and fdatasync'ed. When it fails (a short
 * write that cannot be completed, EIO, ENOSPC, a failed fdatasync), it rejects with
 * UnavailableError and the file is brought back to its last good size before any later append:
 * - after a failed write: truncated back and fsynced;
 * - after a failed fdatasync (or a failed truncate): the file is not trusted any more (Linux may
 *   report a later fsync as fine while the failed pages were dropped), so its good bytes are
 *   rewritten into a new file, fsynced and renamed over it.
 * Until that has succeeded, appends are refused (each one tries the rewrite again): nothing is
 * acknowledged behind a half-written frame.
 *
 * The log is two files so it never grows without bound under steady load: `<path>` takes appends;
 * once it is large it is sealed (renamed to `<path>.1`) and a new one started; the sealed one is
 * deleted as soon as everything in it is applied.
 */
import { constants, open as openFile, rename, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { createMutex } from "../db/duckdb.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { syncFolder } from "../platform/sync-folder.ts";
import { UnavailableError } from "../pipeline/errors.ts";
import { encodeFrame, frameProblem, scanFrames, type DamagedRegion } from "./wal-frames.ts";

/** The file operations the log uses: a node:fs/promises FileHandle has them (tests inject faults). */
export interface WalFile {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

export type OpenWalFile = (path: string, flags: number) => Promise<WalFile>;

export interface WriteAheadLogOptions {
  /** Past this size, a fully applied file is emptied and a partly applied one sealed (default 16 MiB). */
  rotateBytes?: number;
  /** Opens the log's files (default: node:fs/promises, mode 0600). */
  open?: OpenWalFile;
  /** Failed appends, refused appends and the rewrite that ends them are logged here. */
  log?: Logger;
}

/** A frame read back: its payload, and the sequence range its header names (none for the previous format). */
export interface WalFrame {
  payload: Buffer;
  firstSeq?: number;
  count?: number;
}

/** Bytes of the log that held no readable frame, or a frame whose sequences were read already. */
export interface WalDamage extends DamagedRegion {
  file: string;
}

export interface WalContents {
  /** Every frame that holds, in sequence order, each sequence range once. */
  frames: WalFrame[];
  /** Damaged regions between frames (their frames are lost) and duplicate frames (skipped). */
  damaged: WalDamage[];
  /** The torn tail cut off the file being appended to (a write cut short, never acknowledged). */
  tornTail?: WalDamage;
}

export interface WriteAheadLog {
  /** Appends one frame of `count` records numbered from `firstSeq` and makes it durable. */
  append(payload: Buffer, firstSeq: number, count: number): Promise<void>;
  /** Every frame that holds (a torn tail is cut off), and what was damaged. */
  readAll(): Promise<WalContents>;
  /** Everything before `appliedSeq` is durable elsewhere: drops what the log no longer needs. */
  release(appliedSeq: number): Promise<void>;
  /** Empties the log (everything in it is durable elsewhere). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

const RW_CREATE = constants.O_RDWR | constants.O_CREAT;
const defaultOpen: OpenWalFile = (path, flags) => openFile(path, flags, 0o600);

async function writeFully(file: WalFile, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`short write: ${done} of ${bytes.length} bytes written, then none`);
    done += bytesWritten;
  }
}

async function readFully(file: WalFile, length: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(bytes, done, length - done, done);
    if (bytesRead <= 0) throw new Error(`short read: ${done} of ${length} bytes`);
    done += bytesRead;
  }
  return bytes;
}

export async function openWriteAheadLog(path: string, options: WriteAheadLogOptions = {}): Promise<WriteAheadLog> {
  const { rotateBytes = 16 * 1024 * 1024, open = defaultOpen, log } = options;
  const sealedPath = `${path}.1`;
  const rewritePath = `${path}.rewrite`;
  const dir = dirname(path);
  const serial = createMutex();
  let file = await open(path, RW_CREATE);
  await syncFolder(dir); // the file's creation is durable too
  /** Bytes of `file` known good: every append before them succeeded. */
  let size = (await file.stat()).size;
  /** Where the sequences of the last frame appended or read end (appends must not go below it). */
  let end = -1;
  /** Where the sealed file's records end; undefined: no sealed file (or one from before a restart, see readAll). */
  let sealedEnd: number | undefined;
  /** Why appends are refused: the file may hold bytes past `size` that a later frame must not sit behind. */
  let broken: string | undefined;
  let healWarned = false;

  /**
   * Rewrites the good bytes [0, size) into a new file that replaces `file` (after a failed fsync or
   * truncate). They are read through a handle of their own: `file` may be the one that failed.
   */
  async function rewrite(): Promise<void> {
    const source = await open(path, RW_CREATE);
    let good: Buffer;
    try {
      good = await readFully(source, size);
    } finally {
      await source.close();
    }
    const scan = scanFrames(good);
    const keep = scan.tail ? good.subarray(0, scan.validEnd) : good; // never copy bytes that do not hold
    const fresh = await open(rewritePath, RW_CREATE | constants.O_TRUNC);
    try {
      await writeFully(fresh, keep, 0);
      await fresh.sync();
      await rename(rewritePath, path);
      await syncFolder(dir);
    } catch (e) {
      await fresh.close().catch(() => {});
      throw e;
    }
    await file.close().catch(() => {});
    file = fresh;
    size = keep.length;
  }

  /** Marks the log unusable, then tries the rewrite at once. */
  async function recover(why: string): Promise<void> {
    broken = why;
    healWarned = false;
    log?.error("the write-ahead log file is not trusted after a failed write; appends are refused until it is rewritten", { file: path, goodBytes: size, reason: why });
    await heal();
  }

  async function heal(): Promise<void> {
    try {
      await rewrite();
    } catch (e) {
      if (!healWarned) log?.warn("rewriting the write-ahead log failed; appends stay refused (each append tries again)", { file: path, error: e });
      healWarned = true;
      return;
    }
    log?.notice("the write-ahead log was rewritten into a new file; appends are taken again", { file: path, bytes: size, after: broken });
    broken = undefined;
  }

  const unavailable = (what: string, e: unknown) =>
    new UnavailableError(`the write-ahead log could not make these orders durable (${what}: ${errorMessage(e)})`, 1, { cause: e });

  return {
    append: (payload, firstSeq, count) =>
      serial(async () => {
        const problem = frameProblem(payload, firstSeq, count);
        if (problem) throw new Error(`write-ahead log: ${problem}`);
        if (firstSeq < end) throw new Error(`write-ahead log: sequence ${firstSeq} was handed out already (the log holds up to ${end})`);
        if (broken !== undefined) {
          await heal();
          if (broken !== undefined) throw new UnavailableError(`the write-ahead log refuses appends until its file is rewritten (${broken})`);
        }
        const frame = encodeFrame(payload, firstSeq, count);
        try {
          await writeFully(file, frame, size);
        } catch (e) {
          try {
            await file.truncate(size); // no half frame stays for a later frame to sit behind
            await file.sync();
            log?.warn("a write to the write-ahead log failed; truncated back to its last good size", { file: path, goodBytes: size, error: e });
          } catch (t) {
            await recover(`write failed (${errorMessage(e)}), then truncating back failed (${errorMessage(t)})`);
          }
          throw unavailable("write", e);
        }
        try {
          await file.datasync();
        } catch (e) {
          await recover(`fdatasync failed (${errorMessage(e)})`);
          throw unavailable("fdatasync", e);
        }
        size += frame.length;
        end = firstSeq + count;
      }),
    readAll: () =>
      serial(async () => {
        const contents: WalContents = { frames: [], damaged: [] };
        let seqFloor = 0;
        if (existsSync(sealedPath)) {
          const sealed = await open(sealedPath, constants.O_RDONLY);
          try {
            const scan = scanFrames(await readFully(sealed, (await sealed.stat()).size));
            contents.frames.push(...scan.frames);
            contents.damaged.push(...scan.damaged.map((d) => ({ ...d, file: sealedPath })));
            if (scan.tail) contents.damaged.push({ ...scan.tail, file: sealedPath }); // a sealed file was complete: not a torn write
            seqFloor = scan.seqEnd;
          } finally {
            await sealed.close();
          }
        }
        const current = scanFrames(await readFully(file, size), seqFloor);
        contents.frames.push(...current.frames);
        contents.damaged.push(...current.damaged.map((d) => ({ ...d, file: path })));
        if (current.tail) {
          contents.tornTail = { ...current.tail, file: path };
          await file.truncate(current.validEnd);
          await file.sync();
          size = current.validEnd;
        }
        end = Math.max(end, current.seqEnd);
        if (log) logDamage(log, contents);
        return contents;
      }),
    release: (appliedSeq) =>
      serial(async () => {
        if (sealedEnd !== undefined && appliedSeq >= sealedEnd) {
          await rm(sealedPath, { force: true });
          await syncFolder(dir);
          sealedEnd = undefined;
        }
        if (size < rotateBytes || broken !== undefined) return;
        if (appliedSeq >= end) {
          await emptyInPlace(); // all of it applied: start over in place
        } else if (sealedEnd === undefined) {
          await file.close();
          try {
            await rename(path, sealedPath);
            sealedEnd = end;
            size = 0;
          } finally {
            file = await open(path, RW_CREATE); // the new file, or the same one again if the rename failed
          }
          await syncFolder(dir);
        }
      }),
    clear: () =>
      serial(async () => {
        await rm(sealedPath, { force: true });
        await rm(rewritePath, { force: true }); // a rewrite cut short by a crash
        sealedEnd = undefined;
        await emptyInPlace();
        await syncFolder(dir);
      }),
    close: () => serial(() => file.close()),
  };

  /**
   * Truncates the file to nothing. If that fails, what the file holds is applied anyway (a replay
   * skips it): the log is rewritten empty, now or before the next append.
   */
  async function emptyInPlace(): Promise<void> {
    try {
      await file.truncate(0);
      size = 0;
      await file.sync();
    } catch (e) {
      size = 0;
      await recover(`emptying the applied log failed (${errorMessage(e)})`);
    }
  }
}

/** Lines a detailed report stops at (a thoroughly damaged file has a region per few bytes); a summary line follows. */
const DAMAGE_LINES = 20;

/** One line per damaged region (where, how many bytes, which sequences its headers named), and a total. */
function logDamage(log: Logger, contents: WalContents): void {
  const { damaged, tornTail } = contents;
  for (const d of damaged.slice(0, DAMAGE_LINES)) {
    if (d.reason === "duplicate") log.warn("skipped a duplicate frame in the write-ahead log (its sequences were read already)", { ...d });
    else log.error("the write-ahead log has a damaged region; the orders in it are lost, the frames after it are read", { ...d });
  }
  const lost = damaged.filter((d) => d.reason === "unreadable");
  if (damaged.length > DAMAGE_LINES || lost.length > 0)
    log.error("write-ahead log damage in total", {
      regions: lost.length,
      bytes: lost.reduce((n, d) => n + d.bytes, 0),
      duplicates: damaged.length - lost.length,
      sequences: lost.reduce((n, d) => n + d.sequences.reduce((m, s) => m + s.count, 0), 0),
    });
  if (tornTail) log.notice("cut a torn tail off the write-ahead log (a write cut short, never acknowledged)", { ...tornTail });
}
