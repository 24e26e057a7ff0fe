/**
 * Readers for the executable formats of the release binaries that cannot all run here: Windows PE
 * (PE32+) and macOS Mach-O (64-bit), parsed from their published layouts (Microsoft's "PE Format";
 * Apple's <mach-o/loader.h> and <kern/cs_blobs.h>). Each reader checks what it reads and throws,
 * naming the offset, on anything malformed. Also the native files ferry's build packs into the
 * binary (zstd frames listed by its bundled code), and a forwarder DLL writer for wine.
 */
import { createHash } from "node:crypto";

const ascii = (bytes: Uint8Array, start: number, end = bytes.indexOf(0, start)) => new TextDecoder("latin1").decode(bytes.subarray(start, end < 0 ? bytes.length : end));

// ---- PE ----

export const PE_MACHINE = { AMD64: 0x8664, ARM64: 0xaa64, I386: 0x14c } as const;
export const PE_SUBSYSTEM = { WINDOWS_GUI: 2, WINDOWS_CUI: 3 } as const;

export interface PeSection {
  name: string;
  virtualAddress: number;
  virtualSize: number;
  rawOffset: number;
  rawSize: number;
}

export interface PeInfo {
  machine: number;
  /** 0x20b for PE32+ (64-bit). */
  optionalMagic: number;
  characteristics: number;
  subsystem: number;
  /** Minimum Windows version the image declares (MajorSubsystemVersion.Minor). */
  subsystemVersion: string;
  sections: PeSection[];
  /** DLL names in the import directory (load-time imports). */
  imports: string[];
  /** DLL names in the delay-load import directory. */
  delayImports: string[];
}

/** The PE headers, sections and imported DLL names of a Windows executable. */
export function readPe(file: Uint8Array): PeInfo {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length < 0x40 || v.getUint16(0, true) !== 0x5a4d) throw new Error("not a PE file: no MZ header at offset 0");
  const pe = v.getUint32(0x3c, true);
  if (pe + 24 > file.length || v.getUint32(pe, true) !== 0x00004550) throw new Error(`not a PE file: no PE signature at offset ${pe}`);
  const coff = pe + 4;
  const machine = v.getUint16(coff, true);
  const nSections = v.getUint16(coff + 2, true);
  const optSize = v.getUint16(coff + 16, true);
  const characteristics = v.getUint16(coff + 18, true);
  const opt = coff + 20;
  const optionalMagic = v.getUint16(opt, true);
  if (optionalMagic !== 0x20b && optionalMagic !== 0x10b) throw new Error(`unknown optional header magic 0x${optionalMagic.toString(16)} at ${opt}`);
  const plus = optionalMagic === 0x20b;
  const subsystem = v.getUint16(opt + 68, true);
  const subsystemVersion = `${v.getUint16(opt + 48, true)}.${v.getUint16(opt + 50, true)}`;
  const dirs = opt + (plus ? 112 : 96);
  const nDirs = v.getUint32(dirs - 4, true);
  const dir = (i: number) => (i < nDirs ? { rva: v.getUint32(dirs + 8 * i, true), size: v.getUint32(dirs + 8 * i + 4, true) } : { rva: 0, size: 0 });
  const sections: PeSection[] = [];
  for (let i = 0, s = opt + optSize; i < nSections; i++, s += 40) {
    sections.push({ name: ascii(file.subarray(s, s + 8), 0), virtualSize: v.getUint32(s + 8, true), virtualAddress: v.getUint32(s + 12, true), rawSize: v.getUint32(s + 16, true), rawOffset: v.getUint32(s + 20, true) });
  }
  const offsetOf = (rva: number) => {
    const s = sections.find((x) => rva >= x.virtualAddress && rva < x.virtualAddress + Math.max(x.virtualSize, x.rawSize));
    if (!s) throw new Error(`RVA 0x${rva.toString(16)} is in no section`);
    return s.rawOffset + (rva - s.virtualAddress);
  };
  const dllNames = (rva: number, entrySize: number, nameField: number) => {
    const names: string[] = [];
    if (rva === 0) return names;
    for (let at = offsetOf(rva); ; at += entrySize) {
      const nameRva = v.getUint32(at + nameField, true);
      if (nameRva === 0) return names;
      names.push(ascii(file, offsetOf(nameRva)));
    }
  };
  return {
    machine,
    optionalMagic,
    characteristics,
    subsystem,
    subsystemVersion,
    sections,
    imports: dllNames(dir(1).rva, 20, 12),
    delayImports: dllNames(dir(13).rva, 32, 4),
  };
}

/**
 * A DLL with headers and an export table only: `name` exporting each of `forwards`
 * (export → "otherdll.Function"), which the loader resolves in the other DLL. No code.
 */
export function forwarderDll(name: string, forwards: Record<string, string>): Uint8Array {
  const exports = Object.keys(forwards).sort(); // the name pointer table is searched by binary search
  const fileAlign = 0x200;
  const rva = 0x1000;
  const n = exports.length;
  const eat = 40;
  const namePtrs = eat + 4 * n;
  const ordinals = namePtrs + 4 * n;
  let end = ordinals + 2 * n;
  const strings: [number, string][] = [];
  const put = (s: string) => {
    const at = end;
    strings.push([at, s]);
    end += s.length + 1;
    return rva + at;
  };
  const nameRva = put(name);
  const forwardRvas = exports.map((e) => put(forwards[e]!));
  const exportNameRvas = exports.map((e) => put(e));
  const rawSize = Math.ceil(end / fileAlign) * fileAlign;
  const out = new Uint8Array(fileAlign + rawSize);
  const v = new DataView(out.buffer);
  out.set([0x4d, 0x5a]);
  v.setUint32(0x3c, 0x40, true);
  out.set([0x50, 0x45, 0, 0], 0x40);
  const coff = 0x44;
  v.setUint16(coff, PE_MACHINE.AMD64, true);
  v.setUint16(coff + 2, 1, true); // one section
  v.setUint16(coff + 16, 240, true); // optional header size (PE32+, 16 directories)
  v.setUint16(coff + 18, 0x2022, true); // executable image, large address aware, DLL
  const opt = coff + 20;
  v.setUint16(opt, 0x20b, true);
  v.setUint32(opt + 8, rawSize, true); // SizeOfInitializedData
  v.setUint32(opt + 20, rva, true); // BaseOfCode
  v.setBigUint64(opt + 24, 0x180000000n, true); // ImageBase
  v.setUint32(opt + 32, 0x1000, true); // SectionAlignment
  v.setUint32(opt + 36, fileAlign, true);
  v.setUint16(opt + 40, 6, true); // OS version 6.0
  v.setUint16(opt + 48, 6, true); // subsystem version 6.0
  v.setUint32(opt + 56, rva + Math.ceil(end / 0x1000) * 0x1000, true); // SizeOfImage
  v.setUint32(opt + 60, fileAlign, true); // SizeOfHeaders
  v.setUint16(opt + 68, PE_SUBSYSTEM.WINDOWS_CUI, true);
  v.setBigUint64(opt + 72, 0x100000n, true); // stack reserve, commit, heap reserve, commit
  v.setBigUint64(opt + 80, 0x1000n, true);
  v.setBigUint64(opt + 88, 0x100000n, true);
  v.setBigUint64(opt + 96, 0x1000n, true);
  v.setUint32(opt + 108, 16, true); // NumberOfRvaAndSizes
  v.setUint32(opt + 112, rva, true); // export directory: the whole section, so every EAT entry in it is a forwarder
  v.setUint32(opt + 116, end, true);
  const sec = opt + 240;
  out.set(new TextEncoder().encode(".edata"), sec);
  v.setUint32(sec + 8, end, true);
  v.setUint32(sec + 12, rva, true);
  v.setUint32(sec + 16, rawSize, true);
  v.setUint32(sec + 20, fileAlign, true);
  v.setUint32(sec + 36, 0x40000040, true); // initialized data, readable
  const s = fileAlign;
  v.setUint32(s + 12, nameRva, true);
  v.setUint32(s + 16, 1, true); // ordinal base
  v.setUint32(s + 20, n, true);
  v.setUint32(s + 24, n, true);
  v.setUint32(s + 28, rva + eat, true);
  v.setUint32(s + 32, rva + namePtrs, true);
  v.setUint32(s + 36, rva + ordinals, true);
  exports.forEach((_, i) => {
    v.setUint32(s + eat + 4 * i, forwardRvas[i]!, true);
    v.setUint32(s + namePtrs + 4 * i, exportNameRvas[i]!, true);
    v.setUint16(s + ordinals + 2 * i, i, true);
  });
  for (const [at, str] of strings) out.set(new TextEncoder().encode(str), s + at);
  return out;
}

// ---- Mach-O ----

export const MACHO_CPU = { X86_64: 0x01000007, ARM64: 0x0100000c } as const;
const MH_MAGIC_64 = 0xfeedfacf;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CSSLOT_CODEDIRECTORY = 0;
/** Hash types of a CodeDirectory (cs_blobs.h). */
const CS_HASH = { 1: { name: "sha1", size: 20 }, 2: { name: "sha256", size: 32 } } as Record<number, { name: string; size: number }>;

export interface MachOSegment {
  name: string;
  fileOffset: number;
  fileSize: number;
  sections: { segment: string; name: string; offset: number; size: number }[];
}

export interface CodeDirectory {
  version: number;
  flags: number;
  identifier: string;
  hashType: string;
  pageSize: number;
  codeLimit: number;
  nCodeSlots: number;
  nSpecialSlots: number;
  /** Code pages whose hash differs from their slot (empty when the signature matches the file). */
  badPages: number[];
  /** Special slots (negative numbers, e.g. -2 requirements, -5 entitlements) whose blob's hash differs. */
  badSpecialSlots: number[];
}

export interface MachOInfo {
  cputype: number;
  filetype: number;
  loadCommands: number[];
  segments: MachOSegment[];
  /** LC_CODE_SIGNATURE's data in the file, when present. */
  codeSignature?: { offset: number; size: number; blobs: number[]; codeDirectory: CodeDirectory };
}

/** A thin 64-bit little-endian Mach-O's header, load commands, segments and code signature (each code page's hash checked). */
export function readMachO(file: Uint8Array): MachOInfo {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = v.getUint32(0, true);
  if (magic !== MH_MAGIC_64) throw new Error(`not a thin 64-bit Mach-O: magic 0x${magic.toString(16)}${v.getUint32(0, false) === 0xcafebabe ? " (a universal file)" : ""}`);
  const cputype = v.getInt32(4, true);
  const filetype = v.getUint32(12, true);
  const ncmds = v.getUint32(16, true);
  const sizeofcmds = v.getUint32(20, true);
  const loadCommands: number[] = [];
  const segments: MachOSegment[] = [];
  let signature: { offset: number; size: number } | undefined;
  let at = 32;
  for (let i = 0; i < ncmds; i++) {
    if (at + 8 > 32 + sizeofcmds) throw new Error(`load command ${i} at ${at} runs past sizeofcmds`);
    const cmd = v.getUint32(at, true);
    const size = v.getUint32(at + 4, true);
    loadCommands.push(cmd);
    if (cmd === LC_SEGMENT_64) {
      const name = ascii(file.subarray(at + 8, at + 24), 0);
      const nsects = v.getUint32(at + 64, true);
      const sections = Array.from({ length: nsects }, (_, j) => {
        const s = at + 72 + 80 * j;
        return { name: ascii(file.subarray(s, s + 16), 0), segment: ascii(file.subarray(s + 16, s + 32), 0), size: Number(v.getBigUint64(s + 40, true)), offset: v.getUint32(s + 48, true) };
      });
      segments.push({ name, fileOffset: Number(v.getBigUint64(at + 40, true)), fileSize: Number(v.getBigUint64(at + 48, true)), sections });
    }
    if (cmd === LC_CODE_SIGNATURE) signature = { offset: v.getUint32(at + 8, true), size: v.getUint32(at + 12, true) };
    at += size;
  }
  const info: MachOInfo = { cputype, filetype, loadCommands, segments };
  if (signature) {
    if (signature.offset + signature.size > file.length) throw new Error(`LC_CODE_SIGNATURE points past the file (${signature.offset}+${signature.size} > ${file.length})`);
    info.codeSignature = { ...signature, ...readSuperBlob(file, signature.offset) };
  }
  return info;
}

/** The embedded signature (big-endian, cs_blobs.h): its blob types and its CodeDirectory, every hash checked. */
function readSuperBlob(file: Uint8Array, start: number): { blobs: number[]; codeDirectory: CodeDirectory } {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = v.getUint32(start, false);
  if (magic !== CSMAGIC_EMBEDDED_SIGNATURE) throw new Error(`code signature at ${start}: magic 0x${magic.toString(16)}, not an embedded signature`);
  const count = v.getUint32(start + 8, false);
  const index = Array.from({ length: count }, (_, i) => ({ type: v.getUint32(start + 12 + 8 * i, false), offset: v.getUint32(start + 16 + 8 * i, false) }));
  const cdEntry = index.find((b) => b.type === CSSLOT_CODEDIRECTORY);
  if (!cdEntry) throw new Error("code signature has no CodeDirectory");
  const cd = start + cdEntry.offset;
  if (v.getUint32(cd, false) !== CSMAGIC_CODEDIRECTORY) throw new Error(`CodeDirectory at ${cd}: bad magic`);
  const version = v.getUint32(cd + 8, false);
  const flags = v.getUint32(cd + 12, false);
  const hashOffset = v.getUint32(cd + 16, false);
  const identOffset = v.getUint32(cd + 20, false);
  const nSpecialSlots = v.getUint32(cd + 24, false);
  const nCodeSlots = v.getUint32(cd + 28, false);
  let codeLimit = v.getUint32(cd + 32, false);
  const hashSize = v.getUint8(cd + 36);
  const hash = CS_HASH[v.getUint8(cd + 37)];
  const pageSize = 2 ** v.getUint8(cd + 39);
  if (version >= 0x20300) {
    const limit64 = Number(v.getBigUint64(cd + 56, false));
    if (limit64) codeLimit = limit64;
  }
  if (!hash || hash.size !== hashSize) throw new Error(`CodeDirectory hash type ${v.getUint8(cd + 37)} of size ${hashSize} is not one this reader checks`);
  if (nCodeSlots !== Math.ceil(codeLimit / pageSize)) throw new Error(`CodeDirectory has ${nCodeSlots} code slots for ${codeLimit} bytes in pages of ${pageSize}`);
  const slot = (i: number) => Buffer.from(file.subarray(cd + hashOffset + i * hashSize, cd + hashOffset + (i + 1) * hashSize)).toString("hex");
  const digest = (bytes: Uint8Array) => createHash(hash.name).update(bytes).digest("hex");
  const badPages: number[] = [];
  for (let i = 0; i < nCodeSlots; i++) {
    if (digest(file.subarray(i * pageSize, Math.min((i + 1) * pageSize, codeLimit))) !== slot(i)) badPages.push(i);
  }
  const badSpecialSlots: number[] = [];
  for (const b of index) {
    if (b.type === CSSLOT_CODEDIRECTORY || b.type > nSpecialSlots) continue; // alternate CodeDirectories and the CMS signature have no slot
    const at = start + b.offset;
    const length = v.getUint32(at + 4, false);
    if (digest(file.subarray(at, at + length)) !== slot(-b.type)) badSpecialSlots.push(-b.type);
  }
  return {
    blobs: index.map((b) => b.type),
    codeDirectory: { version, flags, identifier: ascii(file, cd + identOffset), hashType: hash.name, pageSize, codeLimit, nCodeSlots, nSpecialSlots, badPages, badSpecialSlots },
  };
}

// ---- The native files ferry's build embeds ----

export interface PackEntry {
  name: string;
  size: number;
  sha256: string;
}

/**
 * The native files ferry's build packed into the binary, as its generated asset module lists them
 * (src/platform/embedded-assets.ts: each pack's files, in order, with size and SHA-256), read from
 * the bundled code's text.
 */
export function packListings(file: Uint8Array): PackEntry[][] {
  const text = new TextDecoder("latin1").decode(file);
  const entry = /\{\s*name:\s*"([^"]+)",\s*size:\s*(\d+),\s*sha256:\s*"([0-9a-f]{64})"\s*\}/g;
  const packs = [...text.matchAll(/files:\s*\[((?:\s*\{\s*name:\s*"[^"]+",\s*size:\s*\d+,\s*sha256:\s*"[0-9a-f]{64}"\s*\},?)+)\s*\]/g)];
  const seen = new Set<string>();
  const out: PackEntry[][] = [];
  for (const p of packs) {
    const files = [...p[1]!.matchAll(entry)].map((m) => ({ name: m[1]!, size: Number(m[2]), sha256: m[3]! }));
    const key = JSON.stringify(files);
    if (!seen.has(key)) seen.add(key), out.push(files); // the module may appear twice (code and source map)
  }
  return out;
}

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** The zstd frame in `file` that declares `contentSize` bytes of content, walked block by block to its end (RFC 8878). */
export function findZstdFrame(file: Uint8Array, contentSize: number): Uint8Array | undefined {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  for (let at = buf.indexOf(ZSTD_MAGIC); at >= 0; at = buf.indexOf(ZSTD_MAGIC, at + 1)) {
    const d = buf[at + 4]!;
    const fcsFlag = d >> 6;
    const single = (d >> 5) & 1;
    const checksum = (d >> 2) & 1;
    if (d & 0x08) continue; // reserved bit
    let p = at + 5 + (single ? 0 : 1) + [0, 1, 2, 4][d & 3]!;
    const fcsSize = [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
    if (fcsSize === 0 || p + fcsSize > buf.length) continue;
    const fcs = fcsSize === 1 ? buf[p]! : fcsSize === 2 ? buf.readUInt16LE(p) + 256 : fcsSize === 4 ? buf.readUInt32LE(p) : Number(buf.readBigUInt64LE(p));
    if (fcs !== contentSize) continue;
    p += fcsSize;
    for (;;) {
      if (p + 3 > buf.length) return undefined;
      const header = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16);
      const type = (header >> 1) & 3;
      if (type === 3) break; // reserved: not a frame after all
      p += 3 + (type === 1 ? 1 : header >>> 3);
      if (header & 1) return file.subarray(at, p + (checksum ? 4 : 0));
    }
  }
  return undefined;
}

/** The packs' files: each pack's zstd frame found and decompressed, cut into its files, each checked against its SHA-256. */
export function embeddedNatives(file: Uint8Array): (PackEntry & { data: Uint8Array })[] {
  const out: (PackEntry & { data: Uint8Array })[] = [];
  for (const pack of packListings(file)) {
    const total = pack.reduce((n, f) => n + f.size, 0);
    const frame = findZstdFrame(file, total);
    if (!frame) throw new Error(`no zstd frame of ${total} bytes holds ${pack.map((f) => f.name).join(" + ")}`);
    const data = Bun.zstdDecompressSync(frame);
    if (data.length !== total) throw new Error(`the pack of ${pack.map((f) => f.name).join(" + ")} inflates to ${data.length} bytes, not ${total}`);
    let at = 0;
    for (const f of pack) {
      const bytes = data.subarray(at, (at += f.size));
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (sha256 !== f.sha256) throw new Error(`${f.name}: SHA-256 ${sha256}, the binary records ${f.sha256}`);
      out.push({ ...f, data: bytes });
    }
  }
  return out;
}

/** The object format and CPU of a native library or program (ELF, thin Mach-O or PE). */
export function nativeKind(bytes: Uint8Array): { format: "elf" | "mach-o" | "pe" | "unknown"; arch: string } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 64) return { format: "unknown", arch: "?" };
  if (v.getUint32(0, false) === 0x7f454c46) {
    const machine = v.getUint16(18, true);
    return { format: "elf", arch: machine === 62 ? "x64" : machine === 183 ? "arm64" : `e_machine ${machine}` };
  }
  if (v.getUint32(0, true) === MH_MAGIC_64) {
    const cpu = v.getInt32(4, true);
    return { format: "mach-o", arch: cpu === MACHO_CPU.X86_64 ? "x64" : cpu === MACHO_CPU.ARM64 ? "arm64" : `cputype 0x${cpu.toString(16)}` };
  }
  if (v.getUint16(0, true) === 0x5a4d) {
    const machine = readPe(bytes).machine;
    return { format: "pe", arch: machine === PE_MACHINE.AMD64 ? "x64" : machine === PE_MACHINE.ARM64 ? "arm64" : `machine 0x${machine.toString(16)}` };
  }
  return { format: "unknown", arch: "?" };
}

/**
 * A DuckDB extension's metadata, from the 512-byte footer DuckDB appends (its fields of 32 bytes,
 * NUL-padded, before the 256-byte signature): the platform it was built for and DuckDB's version.
 * DuckDB refuses to LOAD an extension whose platform or version is not its own.
 */
export function duckdbExtensionFooter(bytes: Uint8Array): { platform: string; duckdbVersion: string; abi: string } {
  const footer = bytes.subarray(bytes.length - 512);
  const field = (at: number) => ascii(footer.subarray(at, at + 32), 0);
  return { abi: field(0x60), duckdbVersion: field(0xa0), platform: field(0xc0) };
}
