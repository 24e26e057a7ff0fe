/**
 * The write-ahead log's frames on disk, and the reader that finds them again in damaged bytes.
 *
 * Frame (28-byte header, big-endian):
 *   magic 0xFF 'F' 'W' '2' | payload length u32 | first sequence u64 | record count u32 |
 *   CRC-32 of the payload u32 | CRC-32 of the 24 header bytes before it u32 | payload
 * The magic starts with 0xFF, a byte UTF-8 text never holds, and a payload may not contain the
 * magic (the log refuses it), so a reader that lost its place (a damaged region) scans forward for
 * the next magic whose header CRC holds and goes on from there: a damaged frame costs that frame,
 * never the frames after it. Every frame names the sequence range it holds; a frame whose range
 * overlaps one already read (a duplicated block) is reported and skipped, the first one kept.
 *
 * The previous release wrote `payload length u32 | CRC-32 of the payload u32 | payload`, without a
 * magic or a sequence range. Such frames are read from the start of a file, until the first one
 * that does not hold; after that only current frames are looked for.
 */
import { crc32 } from "node:zlib";

export const FRAME_MAGIC = Buffer.from([0xff, 0x46, 0x57, 0x32]);
export const FRAME_HEADER = 28;
const LEGACY_HEADER = 8;

export interface ScannedFrame {
  /** Byte offset of the frame in the scanned bytes, and its whole length (header included). */
  offset: number;
  length: number;
  payload: Buffer;
  /** The sequence range [firstSeq, firstSeq + count); undefined for a frame of the previous format. */
  firstSeq?: number;
  count?: number;
}

export interface DamagedRegion {
  offset: number;
  bytes: number;
  /** "unreadable": no frame could be read in these bytes; "duplicate": a whole frame whose sequences were read already. */
  reason: "unreadable" | "duplicate";
  /** The sequence ranges named by frame headers that hold in the region (their payload does not). */
  sequences: { firstSeq: number; count: number }[];
}

export interface ScanResult {
  /** Frames in sequence order (frames of the previous format first, in file order), each range once. */
  frames: ScannedFrame[];
  /** Damaged or duplicate regions before `validEnd`, in file order. */
  damaged: DamagedRegion[];
  /** Where the last whole frame ends: bytes after it are a torn tail (a write cut short). */
  validEnd: number;
  /** The torn tail [validEnd, length), if any, with the sequence ranges its headers name. */
  tail?: DamagedRegion;
  /** The end of the highest sequence range read (`seqFloor` when none). */
  seqEnd: number;
}

/** One frame's bytes: header and payload. */
export function encodeFrame(payload: Buffer, firstSeq: number, count: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  FRAME_MAGIC.copy(frame, 0);
  frame.writeUInt32BE(payload.length, 4);
  frame.writeBigUInt64BE(BigInt(firstSeq), 8);
  frame.writeUInt32BE(count, 16);
  frame.writeUInt32BE(crc32(payload), 20);
  frame.writeUInt32BE(crc32(frame.subarray(0, 24)), 24);
  payload.copy(frame, FRAME_HEADER);
  return frame;
}

/** Why a frame cannot be written as given (undefined: it can). */
export function frameProblem(payload: Buffer, firstSeq: number, count: number): string | undefined {
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 0) return `first sequence ${firstSeq} is not a non-negative integer`;
  if (!Number.isInteger(count) || count < 1 || count > 0xffffffff) return `record count ${count} is out of range`;
  if (!Number.isSafeInteger(firstSeq + count)) return `sequence range ${firstSeq}+${count} is out of range`;
  if (payload.length > 0xffffffff) return `payload of ${payload.length} bytes is too large`;
  if (payload.indexOf(FRAME_MAGIC) !== -1) return "payload contains the frame magic (0xFF 'F' 'W' '2')";
  return undefined;
}

type Header = { payloadLength: number; firstSeq: number; count: number };

/** The header at `o` if its magic and CRC hold and its fields are in range. */
function headerAt(bytes: Buffer, o: number): Header | undefined {
  if (o + FRAME_HEADER > bytes.length) return undefined;
  if (bytes.readUInt32BE(o) !== FRAME_MAGIC.readUInt32BE(0)) return undefined;
  if (crc32(bytes.subarray(o, o + 24)) !== bytes.readUInt32BE(o + 24)) return undefined;
  const firstSeq = bytes.readBigUInt64BE(o + 8);
  const count = bytes.readUInt32BE(o + 16);
  if (firstSeq > BigInt(Number.MAX_SAFE_INTEGER) || count < 1 || !Number.isSafeInteger(Number(firstSeq) + count)) return undefined;
  return { payloadLength: bytes.readUInt32BE(o + 4), firstSeq: Number(firstSeq), count };
}

/** A frame of the previous format at `o`: a non-empty payload whose CRC holds. */
function legacyAt(bytes: Buffer, o: number): ScannedFrame | undefined {
  if (o + LEGACY_HEADER > bytes.length) return undefined;
  const n = bytes.readUInt32BE(o);
  if (n === 0 || o + LEGACY_HEADER + n > bytes.length) return undefined;
  const payload = bytes.subarray(o + LEGACY_HEADER, o + LEGACY_HEADER + n);
  if (crc32(payload) !== bytes.readUInt32BE(o + 4)) return undefined;
  return { offset: o, length: LEGACY_HEADER + n, payload };
}

/**
 * Reads every frame that holds in `bytes`. `seqFloor`: sequences below it were read already (from
 * an earlier file of the same log); a frame that reaches below it counts as a duplicate.
 */
export function scanFrames(bytes: Buffer, seqFloor = 0): ScanResult {
  const legacy: ScannedFrame[] = [];
  const found: ScannedFrame[] = [];
  /** Regions no frame could be read in, in file order: [start, end) with the ranges of headers that held. */
  const bad: DamagedRegion[] = [];
  let open: DamagedRegion | undefined;
  const closeBad = (end: number) => {
    if (open) {
      open.bytes = end - open.offset;
      bad.push(open);
      open = undefined;
    }
  };
  let legacyAllowed = true;
  let o = 0;
  while (o < bytes.length) {
    const h = headerAt(bytes, o);
    if (h && o + FRAME_HEADER + h.payloadLength <= bytes.length) {
      const end = o + FRAME_HEADER + h.payloadLength;
      const payload = bytes.subarray(o + FRAME_HEADER, end);
      if (crc32(payload) === bytes.readUInt32BE(o + 20)) {
        closeBad(o);
        found.push({ offset: o, length: end - o, payload, firstSeq: h.firstSeq, count: h.count });
        legacyAllowed = false;
        o = end;
        continue;
      }
    }
    if (legacyAllowed && !h) {
      const f = legacyAt(bytes, o);
      if (f) {
        legacy.push(f);
        o += f.length;
        continue;
      }
    }
    // Lost: this byte starts (or continues) a damaged region; go on at the next magic.
    legacyAllowed = false;
    open ??= { offset: o, bytes: 0, reason: "unreadable", sequences: [] };
    if (h) open.sequences.push({ firstSeq: h.firstSeq, count: h.count });
    const next = bytes.indexOf(FRAME_MAGIC, o + 1);
    o = next === -1 ? bytes.length : next;
  }
  const lastFrame = found.at(-1) ?? legacy.at(-1);
  const validEnd = lastFrame ? lastFrame.offset + lastFrame.length : 0;
  let tail: DamagedRegion | undefined;
  if (open) {
    open.bytes = bytes.length - open.offset;
    tail = open;
  }

  // Sequence order, each range once: of overlapping frames the one with the lower first sequence,
  // then the earlier in the file, is kept.
  const ordered = found.map((f, i) => ({ f, i })).sort((a, b) => a.f.firstSeq! - b.f.firstSeq! || a.i - b.i);
  const frames: ScannedFrame[] = [...legacy];
  const damaged = [...bad];
  let seqEnd = seqFloor;
  for (const { f } of ordered) {
    if (f.firstSeq! >= seqEnd) {
      frames.push(f);
      seqEnd = f.firstSeq! + f.count!;
    } else damaged.push({ offset: f.offset, bytes: f.length, reason: "duplicate", sequences: [{ firstSeq: f.firstSeq!, count: f.count! }] });
  }
  damaged.sort((a, b) => a.offset - b.offset);
  return { frames, damaged, validEnd, tail, seqEnd };
}
