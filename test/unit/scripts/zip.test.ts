/** The release's zip writer (scripts/zip.ts), read back by Python's zipfile (another implementation). */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zip } from "../../../scripts/zip.ts";

const dir = mkdtempSync(join(tmpdir(), "ferry-zip-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => ((i >> 3) * 7 + seed) & 0xff);
const random = crypto.getRandomValues(new Uint8Array(4096)); // does not deflate: stored

const READ = `
import json, sys, zipfile, hashlib
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.testzip() is None
    print(json.dumps([[i.filename, i.compress_type, i.file_size, (i.external_attr >> 16) & 0o777, i.create_system, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]))
`;

test("Python's zipfile reads every entry: CRC, sizes, deflate or stored, Unix modes", () => {
  const entries = [
    { name: "ferry-1.2.3-windows-x64/" },
    { name: "ferry-1.2.3-windows-x64/ferry.exe", data: bytes(300_000, 1), mode: 0o755 },
    { name: "ferry-1.2.3-windows-x64/README.md", data: new TextEncoder().encode("# ferry\n".repeat(50)) },
    { name: "ferry-1.2.3-windows-x64/random", data: random },
    { name: "ferry-1.2.3-windows-x64/empty", data: new Uint8Array(0) },
  ];
  const path = join(dir, "a.zip");
  writeFileSync(path, zip(entries));
  const r = Bun.spawnSync(["python3", "-c", READ, path]);
  expect(r.stderr.toString()).toBe("");
  const sha = (d: Uint8Array) => new Bun.CryptoHasher("sha256").update(d).digest("hex");
  expect(JSON.parse(r.stdout.toString())).toEqual([
    ["ferry-1.2.3-windows-x64/", 0, 0, 0o755, 3, sha(new Uint8Array(0))],
    ["ferry-1.2.3-windows-x64/ferry.exe", 8, 300_000, 0o755, 3, sha(entries[1]!.data!)],
    ["ferry-1.2.3-windows-x64/README.md", 8, 400, 0o644, 3, sha(entries[2]!.data!)],
    ["ferry-1.2.3-windows-x64/random", 0, 4096, 0o644, 3, sha(random)],
    ["ferry-1.2.3-windows-x64/empty", 0, 0, 0o644, 3, sha(new Uint8Array(0))],
  ]);
});

test("the same input gives the same bytes", () => {
  const entries = [{ name: "a/b", data: bytes(1000, 3) }];
  expect(zip(entries)).toEqual(zip(entries));
});
