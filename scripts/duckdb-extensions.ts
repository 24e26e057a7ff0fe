/**
 * Fetches the DuckDB extensions ferry embeds (EXTENSIONS), for the embedded DuckDB's version, from
 * PyPI, where DuckDB publishes each signed as the wheel `duckdb-extension-<name>`: the wheel's
 * sha256 is checked against PyPI's index and `<name>.duckdb_extension` is extracted to
 * node_modules/.cache/ferry-duckdb-extensions/ (under the name it LOADs by, see extensionFileName) for scripts/build.ts to embed (DuckDB's own
 * extension site is not reachable from every host; the binary then needs no download at run time).
 * Only Bun and the registry: the wheel is read as a zip here (stored or deflated entries).
 *   bun scripts/duckdb-extensions.ts
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { inflateRawSync } from "node:zlib";
import bindings from "../node_modules/@duckdb/node-bindings/package.json" with { type: "json" };
import { EXTENSIONS, extensionFileName, type ExtensionName } from "../src/platform/duckdb-extension-names.ts";

export { EXTENSIONS, extensionFileName, type ExtensionName };

const version = bindings.version.replace(/-r\.\d+$/, ""); // 1.5.5-r.5 → 1.5.5

/** Where the extension `name` is cached for the build (the path src/platform/duckdb-extension-assets.ts embeds). */
export const extensionFile = (name: ExtensionName) => resolve(import.meta.dir, `../node_modules/.cache/ferry-duckdb-extensions/${extensionFileName(name)}`);

/** The cached extension `name` of this DuckDB version, fetched from PyPI when missing. */
export async function fetchExtension(name: ExtensionName): Promise<string> {
  const path = extensionFile(name);
  const mark = `${path}.version`;
  if (existsSync(path) && existsSync(mark) && (await Bun.file(mark).text()) === version) return path;
  const project = `duckdb-extension-${name}`;
  // The simple index (PEP 503): every registry mirror serves it.
  const index = await (await fetch(`https://pypi.org/simple/${project}/`)).text();
  const link = [...index.matchAll(/href="([^"#]+)#sha256=([0-9a-f]{64})"/g)].find(([, url]) => {
    const file = url!.split("/").at(-1)!;
    return file.startsWith(`duckdb_extension_${name}-${version}-`) && file.includes("manylinux") && file.includes("x86_64");
  });
  if (!link) throw new Error(`no linux x86_64 wheel of ${project} ${version} on PyPI`);
  const [, url, expected] = link as unknown as [string, string, string];
  const filename = url.split("/").at(-1)!;
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const sha = createHash("sha256").update(bytes).digest("hex");
  if (sha !== expected) throw new Error(`${filename}: sha256 ${sha}, PyPI says ${expected}`);
  const data = readZipEntry(bytes, `duckdb_extension_${name}/extensions/v${version}/${name}.duckdb_extension`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.${process.pid}.tmp`, data);
  renameSync(`${path}.${process.pid}.tmp`, path);
  writeFileSync(mark, version);
  console.error(`fetched ${name} ${version} (${data.length} bytes) from ${filename}`);
  return path;
}

/** Every embedded extension, cached (fetched in parallel when missing), by name. */
export async function fetchExtensions(): Promise<Record<ExtensionName, string>> {
  const paths = await Promise.all(EXTENSIONS.map(fetchExtension));
  return Object.fromEntries(EXTENSIONS.map((name, i) => [name, paths[i]!])) as Record<ExtensionName, string>;
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

if (import.meta.main) for (const path of Object.values(await fetchExtensions())) console.log(path);
