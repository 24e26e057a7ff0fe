/**
 * The macOS release binaries cannot run here: their Mach-O headers are read instead. Each is a
 * thin 64-bit executable for its CPU, and carries an embedded code signature (Apple silicon
 * refuses unsigned code; a signature that no longer matches the file gets the process killed)
 * whose CodeDirectory covers every byte before it with a SHA-256 per page — every page is hashed
 * here and compared — and whose special slots match their blobs. (embedded.test.ts checks the
 * native code they carry.)
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { MACHO_CPU, readMachO, type MachOInfo } from "../../helpers/executables.ts";
import { readReleaseBinary, releaseArchives, type Target } from "../../helpers/release.ts";

const MH_EXECUTE = 2;
const LC_CODE_SIGNATURE = 0x1d;

const TARGETS: [Target, number][] = [
  ["darwin-arm64", MACHO_CPU.ARM64],
  ["darwin-x64", MACHO_CPU.X86_64],
];

beforeAll(() => releaseArchives(TARGETS.map(([t]) => t)), 20 * 60_000);

for (const [target, cpu] of TARGETS) {
  describe(target, () => {
    let file: Uint8Array;
    let macho: MachOInfo;
    beforeAll(() => {
      file = readReleaseBinary(target);
      macho = readMachO(file);
    });

    test("a thin 64-bit Mach-O executable for its CPU", () => {
      expect({ cputype: `0x${macho.cputype.toString(16)}`, filetype: macho.filetype }).toEqual({ cputype: `0x${cpu.toString(16)}`, filetype: MH_EXECUTE });
    });

    test("signed: LC_CODE_SIGNATURE at the end of __LINKEDIT, a SHA-256 CodeDirectory that matches every page", () => {
      expect(macho.loadCommands).toContain(LC_CODE_SIGNATURE);
      const sig = macho.codeSignature!;
      const linkedit = macho.segments.find((s) => s.name === "__LINKEDIT")!;
      expect(sig.offset + sig.size).toBeLessThanOrEqual(linkedit.fileOffset + linkedit.fileSize);
      expect(linkedit.fileOffset + linkedit.fileSize).toBe(file.length);
      const cd = sig.codeDirectory;
      expect({ hashType: cd.hashType, codeLimit: cd.codeLimit, identifier: cd.identifier.length > 0 }).toEqual({ hashType: "sha256", codeLimit: sig.offset, identifier: true });
      // Pages whose content no longer matches their hash (a file changed after signing).
      expect({ badPages: cd.badPages, of: cd.nCodeSlots, badSpecialSlots: cd.badSpecialSlots }).toEqual({ badPages: [], of: cd.nCodeSlots, badSpecialSlots: [] });
    });
  });
}
