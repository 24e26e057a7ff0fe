/** Cutting one architecture out of a universal Mach-O file (scripts/macho.ts), as `lipo -thin` does. */
import { expect, test } from "bun:test";
import { adhocSign, signatureMatches, thinMachO } from "../../../scripts/macho.ts";
import { readMachO } from "../../helpers/executables.ts";

const X86_64 = 0x01000007;
const ARM64 = 0x0100000c;

/** A thin 64-bit Mach-O "file" for `cpu`: its header, then `fill` bytes. */
function thin(cpu: number, size: number, fill: number): Uint8Array {
  const file = new Uint8Array(size).fill(fill);
  const v = new DataView(file.buffer);
  v.setUint32(0, 0xfeedfacf, true);
  v.setInt32(4, cpu, true);
  return file;
}

/** A fat file holding `slices` at 4096-byte alignment (32-bit or 64-bit fat header). */
function fat(slices: Uint8Array[], cpus: number[], wide = false): Uint8Array {
  const entry = wide ? 32 : 20;
  let offset = 4096;
  const offsets = slices.map((s) => {
    const at = offset;
    offset = Math.ceil((offset + s.length) / 4096) * 4096;
    return at;
  });
  const file = new Uint8Array(offset);
  const v = new DataView(file.buffer);
  v.setUint32(0, wide ? 0xcafebabf : 0xcafebabe, false);
  v.setUint32(4, slices.length, false);
  slices.forEach((s, i) => {
    const at = 8 + i * entry;
    v.setInt32(at, cpus[i]!, false);
    if (wide) {
      v.setBigUint64(at + 8, BigInt(offsets[i]!), false);
      v.setBigUint64(at + 16, BigInt(s.length), false);
      v.setUint32(at + 24, 12, false);
    } else {
      v.setUint32(at + 8, offsets[i]!, false);
      v.setUint32(at + 12, s.length, false);
      v.setUint32(at + 16, 12, false);
    }
    file.set(s, offsets[i]!);
  });
  return file;
}

test("each CPU's slice comes out byte for byte, from 32-bit and 64-bit fat headers", () => {
  const x = thin(X86_64, 5000, 1);
  const a = thin(ARM64, 7000, 2);
  for (const wide of [false, true]) {
    const universal = fat([x, a], [X86_64, ARM64], wide);
    expect(thinMachO(universal, X86_64)).toEqual(x);
    expect(thinMachO(universal, ARM64)).toEqual(a);
  }
});

test("a thin file of the right CPU is kept; of another CPU, refused", () => {
  const a = thin(ARM64, 100, 3);
  expect(thinMachO(a, ARM64)).toBe(a);
  expect(() => thinMachO(a, X86_64)).toThrow("a thin Mach-O file for CPU 0x100000c, not 0x1000007");
});

test("a missing architecture, a slice beyond the end and a file that is no Mach-O are errors", () => {
  const universal = fat([thin(X86_64, 100, 1)], [X86_64]);
  expect(() => thinMachO(universal, ARM64)).toThrow("no slice for CPU 0x100000c (the file has 0x1000007)");
  expect(() => thinMachO(universal.subarray(0, 4100), X86_64)).toThrow("ends beyond the file");
  expect(() => thinMachO(new TextEncoder().encode("\x7fELF and more bytes"), X86_64)).toThrow("not a Mach-O file");
  const notMachO = fat([new Uint8Array(100)], [X86_64]);
  expect(() => thinMachO(notMachO, X86_64)).toThrow("is not a 64-bit Mach-O file");
});

/**
 * A minimal thin executable: header, __TEXT, __LINKEDIT and LC_CODE_SIGNATURE commands, `pages`
 * pages of code (plus a partial one), and `oldSignature` bytes of a signature that matches nothing.
 */
function executable(cpu: number, codeBytes: number, oldSignature: number): Uint8Array {
  const linkeditAt = Math.ceil(codeBytes / 4096) * 4096;
  const signatureAt = linkeditAt + 512;
  const file = new Uint8Array(signatureAt + oldSignature);
  const v = new DataView(file.buffer);
  v.setUint32(0, 0xfeedfacf, true);
  v.setInt32(4, cpu, true);
  v.setUint32(12, 2, true); // MH_EXECUTE
  v.setUint32(16, 3, true); // ncmds
  v.setUint32(20, 72 * 2 + 16, true);
  const segment = (at: number, name: string, off: number, size: number) => {
    v.setUint32(at, 0x19, true);
    v.setUint32(at + 4, 72, true);
    file.set(new TextEncoder().encode(name), at + 8);
    v.setBigUint64(at + 32, BigInt(size), true); // vmsize
    v.setBigUint64(at + 40, BigInt(off), true);
    v.setBigUint64(at + 48, BigInt(size), true);
  };
  segment(32, "__TEXT", 0, linkeditAt);
  segment(104, "__LINKEDIT", linkeditAt, file.length - linkeditAt);
  v.setUint32(176, 0x1d, true);
  v.setUint32(180, 16, true);
  v.setUint32(184, signatureAt, true);
  v.setUint32(188, oldSignature, true);
  for (let i = 192; i < signatureAt; i++) file[i] = (i * 7) & 0xff;
  v.setUint32(signatureAt, 0xfade0cc0, false); // a SuperBlob with nothing that matches
  return file;
}

test("adhocSign: a SHA-256 CodeDirectory over every page before it, __LINKEDIT ending at the file's end (read by the release tests' reader)", () => {
  for (const [cpu, code, old] of [[ARM64, 3 * 4096 + 100, 5000], [X86_64, 40_000, 64]] as const) {
    const file = executable(cpu, code, old);
    expect(signatureMatches(file)).toBe(false);
    const signed = adhocSign(file);
    expect(signatureMatches(signed)).toBe(true);
    const m = readMachO(signed);
    const sig = m.codeSignature!;
    expect(sig.blobs).toEqual([0]);
    const cd = sig.codeDirectory;
    expect({ hashType: cd.hashType, flags: cd.flags, identifier: cd.identifier, codeLimit: cd.codeLimit, badPages: cd.badPages, slots: cd.nCodeSlots }).toEqual({
      hashType: "sha256",
      flags: 0x20002,
      identifier: "ferry",
      codeLimit: sig.offset,
      badPages: [],
      slots: Math.ceil(sig.offset / 4096),
    });
    const linkedit = m.segments.find((s) => s.name === "__LINKEDIT")!;
    expect(linkedit.fileOffset + linkedit.fileSize).toBe(signed.length);
    expect(sig.offset + sig.size).toBe(signed.length);
    expect(signed.subarray(0x1000, sig.offset)).toEqual(file.subarray(0x1000, sig.offset)); // code untouched
    const tampered = signed.slice();
    tampered[sig.offset - 1]! ^= 1;
    expect(signatureMatches(tampered)).toBe(false);
  }
});

test("adhocSign refuses a file without a signature's place", () => {
  const file = executable(X86_64, 8192, 64);
  new DataView(file.buffer).setUint32(176, 0x2, true); // LC_SYMTAB instead of LC_CODE_SIGNATURE
  expect(() => adhocSign(file)).toThrow("has no LC_CODE_SIGNATURE");
});
