/**
 * One architecture's slice of a universal (fat) Mach-O file, as `lipo -thin` makes it: DuckDB ships
 * one libduckdb.dylib holding both Macs' code, and each macOS binary of ferry embeds only its own.
 * A slice is a complete Mach-O file with its own code signature; copying its bytes keeps it valid.
 */

const FAT_MAGIC = 0xcafebabe;
const FAT_MAGIC_64 = 0xcafebabf;
const MH_MAGIC_64 = 0xfeedfacf; // little-endian 64-bit Mach-O, read little-endian

/** The slice of `file` for `cputype`; `file` itself when it is already a thin Mach-O of that CPU. */
export function thinMachO(file: Uint8Array, cputype: number): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length < 8) throw new Error("not a Mach-O file: too short");
  const magic = view.getUint32(0, false);
  if (magic !== FAT_MAGIC && magic !== FAT_MAGIC_64) {
    if (view.getUint32(0, true) !== MH_MAGIC_64) throw new Error(`not a Mach-O file (magic 0x${magic.toString(16)})`);
    const cpu = view.getInt32(4, true);
    if (cpu !== cputype) throw new Error(`a thin Mach-O file for CPU 0x${cpu.toString(16)}, not 0x${cputype.toString(16)}`);
    return file;
  }
  const wide = magic === FAT_MAGIC_64;
  const count = view.getUint32(4, false);
  const entry = wide ? 32 : 20;
  if (8 + count * entry > file.length) throw new Error(`fat header lists ${count} architectures beyond the file's end`);
  const found: string[] = [];
  for (let i = 0; i < count; i++) {
    const at = 8 + i * entry;
    const cpu = view.getInt32(at, false);
    const offset = wide ? Number(view.getBigUint64(at + 8, false)) : view.getUint32(at + 8, false);
    const size = wide ? Number(view.getBigUint64(at + 16, false)) : view.getUint32(at + 12, false);
    found.push(`0x${cpu.toString(16)}`);
    if (cpu !== cputype) continue;
    if (offset + size > file.length) throw new Error(`the slice for CPU 0x${cpu.toString(16)} ends beyond the file`);
    const slice = file.subarray(offset, offset + size);
    if (slice.length < 8 || new DataView(slice.buffer, slice.byteOffset).getUint32(0, true) !== MH_MAGIC_64) throw new Error(`the slice for CPU 0x${cpu.toString(16)} is not a 64-bit Mach-O file`);
    return slice;
  }
  throw new Error(`no slice for CPU 0x${cputype.toString(16)} (the file has ${found.join(", ")})`);
}

const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CS_ADHOC = 0x2;
const CS_LINKER_SIGNED = 0x20000;
const CS_EXECSEG_MAIN_BINARY = 0x1;
const PAGE = 4096;

interface Layout {
  signature: { command: number; offset: number; size: number };
  text: { fileOffset: number; fileSize: number };
  linkedit: { command: number; fileOffset: number };
}

/** Where a thin 64-bit Mach-O executable keeps its code signature, __TEXT and __LINKEDIT. */
function layoutOf(file: Uint8Array): Layout {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (v.getUint32(0, true) !== MH_MAGIC_64) throw new Error("not a thin 64-bit Mach-O file");
  const ncmds = v.getUint32(16, true);
  let signature: Layout["signature"] | undefined;
  let text: Layout["text"] | undefined;
  let linkedit: Layout["linkedit"] | undefined;
  for (let i = 0, at = 32; i < ncmds; i++) {
    const cmd = v.getUint32(at, true);
    if (cmd === LC_SEGMENT_64) {
      const name = new TextDecoder().decode(file.subarray(at + 8, at + 24)).replace(/\0+$/, "");
      const segment = { fileOffset: Number(v.getBigUint64(at + 40, true)), fileSize: Number(v.getBigUint64(at + 48, true)) };
      if (name === "__TEXT") text = segment;
      if (name === "__LINKEDIT") linkedit = { command: at, fileOffset: segment.fileOffset };
    }
    if (cmd === LC_CODE_SIGNATURE) signature = { command: at, offset: v.getUint32(at + 8, true), size: v.getUint32(at + 12, true) };
    at += v.getUint32(at + 4, true);
  }
  if (!signature || !text || !linkedit) throw new Error("the Mach-O file has no LC_CODE_SIGNATURE, __TEXT or __LINKEDIT");
  if (signature.offset < linkedit.fileOffset || signature.offset % 16) throw new Error("the code signature is not at the end of __LINKEDIT");
  return { signature, text, linkedit };
}

/** Whether the file's code signature's (SHA-256) CodeDirectory hashes every byte before it, page by page, as they are now. */
export function signatureMatches(file: Uint8Array): boolean {
  const { signature } = layoutOf(file);
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const start = signature.offset;
  if (v.getUint32(start, false) !== CSMAGIC_EMBEDDED_SIGNATURE) return false;
  for (let i = 0, count = v.getUint32(start + 8, false); i < count; i++) {
    if (v.getUint32(start + 12 + 8 * i, false) !== 0) continue;
    const cd = start + v.getUint32(start + 16 + 8 * i, false);
    const hashOffset = v.getUint32(cd + 16, false);
    const slots = v.getUint32(cd + 28, false);
    const codeLimit = v.getUint32(cd + 32, false);
    const page = 2 ** v.getUint8(cd + 39); // 4 KiB, or 16 KiB as newer codesign signs arm64
    if (v.getUint8(cd + 37) !== 2 || codeLimit !== start || slots !== Math.ceil(codeLimit / page)) return false;
    for (let p = 0; p < slots; p++) {
      const hash = new Bun.CryptoHasher("sha256").update(file.subarray(p * page, Math.min((p + 1) * page, codeLimit))).digest();
      if (!hash.equals(file.subarray(cd + hashOffset + p * 32, cd + hashOffset + (p + 1) * 32))) return false;
    }
    return true;
  }
  return false;
}

/**
 * The executable with a new ad-hoc signature, as Apple's linker makes one (a SuperBlob holding one
 * SHA-256 CodeDirectory, flags adhoc + linker-signed, no requirements): the old signature's place
 * is reused, the load commands updated, then every page before it hashed. Apple silicon refuses
 * unsigned code; an Intel Mac kills a process whose pages no longer match their signature.
 */
export function adhocSign(input: Uint8Array, identifier = "ferry"): Uint8Array {
  const { signature, text, linkedit } = layoutOf(input);
  const codeLimit = signature.offset;
  const slots = Math.ceil(codeLimit / PAGE);
  const ident = new TextEncoder().encode(`${identifier}\0`);
  const cdHeader = 88; // CodeDirectory version 0x20400
  const hashOffset = cdHeader + ident.length;
  const cdLength = hashOffset + slots * 32;
  const blobLength = 20 + cdLength; // SuperBlob header and one index entry
  const size = Math.ceil(blobLength / 16) * 16;
  const file = new Uint8Array(codeLimit + size);
  file.set(input.subarray(0, codeLimit));
  const v = new DataView(file.buffer);
  // Load commands first: page 0 holds them, and its hash must be of the final bytes.
  v.setUint32(signature.command + 12, size, true);
  const linkeditSize = file.length - linkedit.fileOffset;
  const segmentPage = v.getInt32(4, true) === 0x0100000c ? 0x4000 : 0x1000;
  v.setBigUint64(linkedit.command + 48, BigInt(linkeditSize), true); // filesize
  v.setBigUint64(linkedit.command + 32, BigInt(Math.ceil(linkeditSize / segmentPage) * segmentPage), true); // vmsize

  const s = codeLimit;
  v.setUint32(s, CSMAGIC_EMBEDDED_SIGNATURE, false);
  v.setUint32(s + 4, blobLength, false);
  v.setUint32(s + 8, 1, false);
  v.setUint32(s + 12, 0, false); // CSSLOT_CODEDIRECTORY
  v.setUint32(s + 16, 20, false);
  const cd = s + 20;
  v.setUint32(cd, CSMAGIC_CODEDIRECTORY, false);
  v.setUint32(cd + 4, cdLength, false);
  v.setUint32(cd + 8, 0x20400, false);
  v.setUint32(cd + 12, CS_ADHOC | CS_LINKER_SIGNED, false);
  v.setUint32(cd + 16, hashOffset, false);
  v.setUint32(cd + 20, cdHeader, false); // identOffset
  v.setUint32(cd + 24, 0, false); // nSpecialSlots
  v.setUint32(cd + 28, slots, false);
  v.setUint32(cd + 32, codeLimit, false);
  v.setUint8(cd + 36, 32); // hashSize
  v.setUint8(cd + 37, 2); // SHA-256
  v.setUint8(cd + 38, 0); // platform
  v.setUint8(cd + 39, 12); // log2 of the page size
  // spare2, scatterOffset, teamOffset, spare3, codeLimit64: 0
  v.setBigUint64(cd + 64, BigInt(text.fileOffset), false); // execSegBase
  v.setBigUint64(cd + 72, BigInt(text.fileSize), false); // execSegLimit
  v.setBigUint64(cd + 80, BigInt(CS_EXECSEG_MAIN_BINARY), false);
  file.set(ident, cd + cdHeader);
  for (let p = 0; p < slots; p++) {
    const hash = new Bun.CryptoHasher("sha256").update(file.subarray(p * PAGE, Math.min((p + 1) * PAGE, codeLimit))).digest();
    file.set(hash, cd + hashOffset + p * 32);
  }
  return file;
}
