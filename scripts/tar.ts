/**
 * A POSIX ustar archive of regular files and folders, owned by 0/0 with a fixed time, so the same
 * input gives the same bytes (Bun.Archive keeps no file modes, and the binary must stay executable).
 */

export interface TarInput {
  /** Path inside the archive (at most 100 bytes here); a folder ends with "/". */
  name: string;
  data?: Uint8Array;
  /** Permission bits (0o644 for files, 0o755 for folders by default). */
  mode?: number;
}

const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, "0") + "\0";

function header(name: string, size: number, mode: number, mtime: number, folder: boolean): Uint8Array {
  const block = new Uint8Array(512);
  const encoder = new TextEncoder();
  const bytes = encoder.encode(name);
  if (bytes.length > 100) throw new Error(`${name}: name longer than 100 bytes`);
  if (size > 0o77777777777) throw new Error(`${name}: larger than 8 GiB`);
  const put = (text: string, at: number) => block.set(encoder.encode(text), at);
  block.set(bytes, 0);
  put(octal(mode, 8), 100);
  put(octal(0, 8), 108); // uid
  put(octal(0, 8), 116); // gid
  put(octal(size, 12), 124);
  put(octal(mtime, 12), 136);
  put("        ", 148); // checksum field counts as spaces
  put(folder ? "5" : "0", 156);
  put("ustar\u000000", 257);
  put("root", 265);
  put("root", 297);
  const sum = block.reduce((n, b) => n + b, 0);
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return block;
}

/** The tar of `entries`, in their order. */
export function tar(entries: TarInput[], mtime = 0): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    const folder = entry.name.endsWith("/");
    const data = entry.data ?? new Uint8Array(0);
    if (folder && data.length) throw new Error(`${entry.name}: a folder has no content`);
    parts.push(header(entry.name, data.length, entry.mode ?? (folder ? 0o755 : 0o644), mtime, folder));
    if (data.length) parts.push(data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024)); // two zero blocks end the archive
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
