/**
 * The release folder as a user downloads it: one archive per platform, each at most 100 MB,
 * holding one folder ferry-<version>-<os>-<arch>/ with the binary (executable) and README.md
 * (and LICENSE when the project has one), nothing else; SHA256SUMS names every archive once and
 * each sum matches — checked here and by `sha256sum -c`, the command the README gives users.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { archiveEntries, archiveName, archivePath, binaryName, MAX_ARCHIVE_BYTES, readSums, RELEASE_DIR, releaseArchives, releaseName, TARGETS } from "../../helpers/release.ts";

const sizes = new Map<string, number>();

beforeAll(() => releaseArchives(TARGETS), 20 * 60_000);
afterAll(() => {
  // The figures the README's download table quotes.
  if (sizes.size) console.log(`release archives (${RELEASE_DIR}):\n${[...sizes].map(([name, bytes]) => `  ${name}  ${(bytes / 1e6).toFixed(1)} MB (${(bytes / 2 ** 20).toFixed(1)} MiB)`).join("\n")}`);
});

test("SHA256SUMS names every archive of the folder once, and every sum matches", async () => {
  const sums = readSums();
  const archives = readdirSync(RELEASE_DIR).filter((f) => /^ferry-.*\.(tar\.gz|zip)$/.test(f)).sort();
  expect([...sums.keys()].sort()).toEqual(archives);
  for (const t of TARGETS) expect(archives).toContain(archiveName(t));
  for (const [name, expected] of sums) {
    const hasher = new Bun.CryptoHasher("sha256");
    for await (const chunk of Bun.file(join(RELEASE_DIR, name)).stream()) hasher.update(chunk);
    expect({ name, sha256: hasher.digest("hex") }).toEqual({ name, sha256: expected });
  }
  const check = Bun.spawnSync(["sha256sum", "--check", "--strict", "SHA256SUMS"], { cwd: RELEASE_DIR });
  expect({ code: check.exitCode, err: check.stderr.toString() }).toEqual({ code: 0, err: "" });
  expect(check.stdout.toString().trim().split("\n").sort()).toEqual(archives.map((a) => `${a}: OK`));
}, 180_000); // reads ~0.5 GB twice

for (const target of TARGETS) {
  test(`${target}: at most 100 MB; one folder with the binary and README.md, nothing else`, () => {
    const bytes = statSync(archivePath(target)).size;
    sizes.set(archiveName(target), bytes);
    expect(bytes).toBeLessThanOrEqual(MAX_ARCHIVE_BYTES);

    const folder = `${releaseName(target)}/`;
    const entries = archiveEntries(archivePath(target));
    const files = entries.filter((e) => !e.name.endsWith("/"));
    const wanted = [binaryName(target), "README.md", ...(existsSync(resolve(import.meta.dir, "../../../LICENSE")) ? ["LICENSE"] : [])].map((f) => folder + f).sort();
    expect(files.map((e) => e.name).sort()).toEqual(wanted);
    for (const e of entries.filter((e) => e.name.endsWith("/"))) expect(e.name).toBe(folder);
    const binary = files.find((e) => e.name === folder + binaryName(target))!;
    expect(binary.size).toBeGreaterThan(10_000_000);
    // Unix archives keep the binary executable (the zip may say nothing of modes: Windows has none).
    if (binary.mode !== undefined) expect((binary.mode & 0o111).toString(8)).toBe("111");
    else expect(target).toStartWith("windows-");
  });
}
