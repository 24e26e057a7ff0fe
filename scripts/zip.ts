/**
 * A zip archive (deflated entries, no zip64: a release archive is far below 4 GiB), as the
 * Windows release is packed; Windows Explorer and PowerShell's Expand-Archive open it. Entries
 * carry Unix modes (made by "Unix") and a fixed timestamp, so the same input gives the same bytes.
 */

export interface ZipInput {
  /** Path inside the archive; a folder ends with "/". */
  name: string;
  data?: Uint8Array;
  /** Unix permission bits (0o644 for files, 0o755 for folders by default). */
  mode?: number;
}

/** DOS date and time of `date` (local fields as UTC; 2-second resolution, from 1980). */
function dosTime(date: Date): { time: number; day: number } {
  const year = Math.max(1980, date.getUTCFullYear());
  return {
    time: (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | (date.getUTCSeconds() >> 1),
    day: ((year - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate(),
  };
}

/** The zip of `entries`, in their order, each file deflated (stored when that is not smaller). */
export function zip(entries: ZipInput[], modified = new Date(Date.UTC(1980, 0, 1))): Uint8Array {
  const { time, day } = dosTime(modified);
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = encoder.encode(entry.name);
    const folder = entry.name.endsWith("/");
    const data = entry.data ?? new Uint8Array(0);
    if (folder && data.length) throw new Error(`${entry.name}: a folder has no content`);
    const deflated = data.length ? Bun.deflateSync(data as Uint8Array<ArrayBuffer>, { level: 9, library: "libdeflate" }) : data;
    const stored = deflated.length >= data.length;
    const body = stored ? data : deflated;
    const method = stored ? 0 : 8;
    const crc = Bun.hash.crc32(data);
    if (offset > 0xffffffff || body.length > 0xffffffff) throw new Error(`${entry.name}: zip64 would be needed`);

    const local = new Uint8Array(30 + name.length);
    const l = new DataView(local.buffer);
    l.setUint32(0, 0x04034b50, true);
    l.setUint16(4, 20, true); // version needed: 2.0
    l.setUint16(6, 0x0800, true); // UTF-8 names
    l.setUint16(8, method, true);
    l.setUint16(10, time, true);
    l.setUint16(12, day, true);
    l.setUint32(14, crc, true);
    l.setUint32(18, body.length, true);
    l.setUint32(22, data.length, true);
    l.setUint16(26, name.length, true);
    local.set(name, 30);

    const mode = entry.mode ?? (folder ? 0o755 : 0o644);
    const dir = new Uint8Array(46 + name.length);
    const c = new DataView(dir.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, (3 << 8) | 20, true); // made by Unix, zip 2.0
    c.setUint16(6, 20, true);
    c.setUint16(8, 0x0800, true);
    c.setUint16(10, method, true);
    c.setUint16(12, time, true);
    c.setUint16(14, day, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, body.length, true);
    c.setUint32(24, data.length, true);
    c.setUint16(28, name.length, true);
    c.setUint32(38, (((folder ? 0o040000 : 0o100000) | mode) << 16 | (folder ? 0x10 : 0)) >>> 0, true); // Unix mode, MS-DOS folder bit
    c.setUint32(42, offset, true);
    dir.set(name, 46);

    parts.push(local, body);
    central.push(dir);
    offset += local.length + body.length;
  }
  const centralSize = central.reduce((n, part) => n + part.length, 0);
  const end = new Uint8Array(22);
  const e = new DataView(end.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, entries.length, true);
  e.setUint16(10, entries.length, true);
  e.setUint32(12, centralSize, true);
  e.setUint32(16, offset, true);
  const out = new Uint8Array(offset + centralSize + end.length);
  let at = 0;
  for (const part of [...parts, ...central, end]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
