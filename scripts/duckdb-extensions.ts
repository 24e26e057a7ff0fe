/**
 * Fetches DuckDB's httpfs extension for the embedded DuckDB (the same version) from PyPI, where
 * DuckDB publishes it signed as the wheel `duckdb-extension-httpfs`, and extracts it to
 * node_modules/.cache/ferry-duckdb-extensions/ for scripts/build.ts to embed (DuckDB's own
 * extension site is not reachable from every host; the binary then needs no download at run time).
 * Only Bun and the registry: the wheel is read as a zip here (stored or deflated entries).
 *   bun scripts/duckdb-extensions.ts
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { inflateRawSync } from "node:zlib";
import bindings from "../node_modules/@duckdb/node-bindings/package.json" with { type: "json" };

const version = bindings.version.replace(/-r\.\d+$/, ""); // 1.5.5-r.5 → 1.5.5
export const HTTPFS_PATH = resolve(import.meta.dir, "../node_modules/.cache/ferry-duckdb-extensions/httpfs.duckdb_extension");
const MARK = `${HTTPFS_PATH}.version`;

export async function fetchHttpfs(): Promise<string> {
  if (existsSync(HTTPFS_PATH) && existsSync(MARK) && (await Bun.file(MARK).text()) === version) return HTTPFS_PATH;
  // The simple index (PEP 503): every registry mirror serves it.
  const index = await (await fetch("https://pypi.org/simple/duckdb-extension-httpfs/")).text();
  const link = [...index.matchAll(/href="([^"#]+)#sha256=([0-9a-f]{64})"/g)].find(([, url]) => {
    const file = url!.split("/").at(-1)!;
    return file.startsWith(`duckdb_extension_httpfs-${version}-`) && file.includes("manylinux") && file.includes("x86_64");
  });
  if (!link) throw new Error(`no linux x86_64 wheel of duckdb-extension-httpfs ${version} on PyPI`);
  const wheel = { filename: link[1]!.split("/").at(-1)!, url: link[1]!, digests: { sha256: link[2]! } };
  const bytes = new Uint8Array(await (await fetch(wheel.url)).arrayBuffer());
  const sha = createHash("sha256").update(bytes).digest("hex");
  if (sha !== wheel.digests.sha256) throw new Error(`${wheel.filename}: sha256 ${sha}, PyPI says ${wheel.digests.sha256}`);
  const entry = `duckdb_extension_httpfs/extensions/v${version}/httpfs.duckdb_extension`;
  const data = readZipEntry(bytes, entry);
  mkdirSync(dirname(HTTPFS_PATH), { recursive: true });
  writeFileSync(`${HTTPFS_PATH}.tmp`, data);
  renameSync(`${HTTPFS_PATH}.tmp`, HTTPFS_PATH);
  writeFileSync(MARK, version);
  console.error(`fetched httpfs ${version} (${data.length} bytes) from ${wheel.filename}`);
  return HTTPFS_PATH;
}

/** One entry of a zip archive, found through the central directory. */
function readZipEntry(zip: Uint8Array, name: string): Uint8Array {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = zip.length - 22;
  while (eocd >= 0 && view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error("not a zip archive");
  const entries = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  for (let i = 0; i < entries; i++) {
    const method = view.getUint16(at + 10, true);
    const compressed = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const extra = view.getUint16(at + 30, true);
    const comment = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const entryName = new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLength));
    if (entryName === name) {
      const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
      const raw = zip.subarray(start, start + compressed);
      if (method === 0) return raw;
      if (method === 8) return inflateRawSync(raw);
      throw new Error(`${name}: zip method ${method} not supported`);
    }
    at += 46 + nameLength + extra + comment;
  }
  throw new Error(`${name} is not in the wheel`);
}

if (import.meta.main) console.log(await fetchHttpfs());
