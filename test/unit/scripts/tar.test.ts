/** The release's tar writer (scripts/tar.ts), read back by the system's tar as a user would. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tar } from "../../../scripts/tar.ts";

const dir = mkdtempSync(join(tmpdir(), "ferry-tar-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);
const entries = () => [
  { name: "ferry-1.2.3-linux-x64/" },
  { name: "ferry-1.2.3-linux-x64/ferry", data: bytes(70_001, 1), mode: 0o755 },
  { name: "ferry-1.2.3-linux-x64/README.md", data: new TextEncoder().encode("# ferry\n") },
  { name: "ferry-1.2.3-linux-x64/empty", data: new Uint8Array(0) },
  { name: "ferry-1.2.3-linux-x64/block", data: bytes(1024, 2) }, // a multiple of 512: no padding
];

test("tar lists the entries with their modes, owner 0/0 and the given time, and extracts the same bytes", () => {
  const archive = join(dir, "a.tar");
  writeFileSync(archive, tar(entries(), 1_700_000_000));
  const list = Bun.spawnSync(["tar", "-tvf", archive, "--numeric-owner"], { env: { ...process.env, LC_ALL: "C", TZ: "UTC" } });
  expect(list.stderr.toString()).toBe("");
  expect(list.stdout.toString().trim().split("\n").map((l) => l.split(/\s+/).filter((_, i) => i !== 2 && i !== 4))).toEqual([
    ["drwxr-xr-x", "0/0", "2023-11-14", "ferry-1.2.3-linux-x64/"],
    ["-rwxr-xr-x", "0/0", "2023-11-14", "ferry-1.2.3-linux-x64/ferry"],
    ["-rw-r--r--", "0/0", "2023-11-14", "ferry-1.2.3-linux-x64/README.md"],
    ["-rw-r--r--", "0/0", "2023-11-14", "ferry-1.2.3-linux-x64/empty"],
    ["-rw-r--r--", "0/0", "2023-11-14", "ferry-1.2.3-linux-x64/block"],
  ]);
  const out = join(dir, "x");
  Bun.spawnSync(["mkdir", out]);
  const x = Bun.spawnSync(["tar", "-xf", archive, "-C", out]);
  expect(x.exitCode).toBe(0);
  for (const e of entries().filter((e) => e.data)) expect(new Uint8Array(readFileSync(join(out, e.name)))).toEqual(e.data!);
  expect(statSync(join(out, "ferry-1.2.3-linux-x64/ferry")).mode & 0o777).toBe(0o755);
});

test("the same input gives the same bytes; a long name is refused", () => {
  expect(tar(entries())).toEqual(tar(entries()));
  expect(() => tar([{ name: `${"a".repeat(101)}` }])).toThrow("name longer than 100 bytes");
  expect(() => tar([{ name: "f/", data: bytes(1, 1) }])).toThrow("a folder has no content");
});
