/**
 * Fetches the DuckDB extensions ferry embeds (EXTENSIONS), for the embedded DuckDB's version and one
 * target, from PyPI, where DuckDB publishes each signed as the wheel `duckdb-extension-<name>` per
 * platform. Each wheel is pinned in scripts/duckdb-extension-pins.json (file name and sha256, for
 * every target): PyPI's index must give the same sha256 and the downloaded bytes must have it.
 * `<name>.duckdb_extension` is extracted to node_modules/.cache/ferry-duckdb-extensions/<target>/
 * under the name it LOADs by (extensionFileName) for the build to embed (DuckDB's own extension
 * site is not reachable from every host; the binary then needs no download at run time).
 * Only Bun and the registry: the wheel is read as a zip here (stored or deflated entries).
 *   bun scripts/duckdb-extensions.ts [target...]      fetch (linux-x64 by default), print the paths
 *   bun scripts/duckdb-extensions.ts --pin            record every target's wheels from PyPI's index
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { inflateRawSync } from "node:zlib";
import bindings from "../node_modules/@duckdb/node-bindings/package.json" with { type: "json" };
import { EXTENSIONS, extensionFileName, type ExtensionName } from "../src/platform/duckdb-extension-names.ts";
import { isTarget, TARGET_NAMES, TARGETS, type Target } from "../src/platform/targets.ts";

export { EXTENSIONS, extensionFileName, type ExtensionName };

const version = bindings.version.replace(/-r\.\d+$/, ""); // 1.5.5-r.5 → 1.5.5
const PINS = resolve(import.meta.dir, "duckdb-extension-pins.json");
const INDEX = process.env.FERRY_PYPI_INDEX ?? "https://pypi.org/simple/"; // PEP 503: every mirror serves it

export interface WheelPin {
  wheel: string;
  sha256: string;
}
/** DuckDB version → target → extension → the wheel it comes from. */
export type Pins = Record<string, Partial<Record<Target, Record<ExtensionName, WheelPin>>>>;

/** Where the extension `name` of `target` is cached for the build. */
export const extensionFile = (name: ExtensionName, target: Target = "linux-x64") =>
  resolve(import.meta.dir, `../node_modules/.cache/ferry-duckdb-extensions/${target}/${extensionFileName(name)}`);

export const readPins = (): Pins => (existsSync(PINS) ? (JSON.parse(readFileSync(PINS, "utf8")) as Pins) : {});

/** The wheel pinned for `name` on `target` at this DuckDB version. */
export function pinOf(name: ExtensionName, target: Target, pins: Pins = readPins()): WheelPin {
  const pin = pins[version]?.[target]?.[name];
  if (!pin) throw new Error(`no wheel of duckdb-extension-${name} ${version} pinned for ${target} in ${PINS} (run: bun scripts/duckdb-extensions.ts --pin)`);
  return pin;
}

/** The wheels PyPI's simple index lists for `project`: file name → url and sha256. */
async function indexOf(project: string): Promise<Map<string, { url: string; sha256: string }>> {
  const url = `${INDEX}${project}/`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const html = await response.text();
  const links = new Map<string, { url: string; sha256: string }>();
  for (const [, href, sha256] of html.matchAll(/href="([^"#]+)#sha256=([0-9a-f]{64})"/g)) {
    const link = new URL(href!, url).href;
    links.set(decodeURIComponent(link.split("/").at(-1)!), { url: link, sha256: sha256! });
  }
  return links;
}

/** The wheel of `name` for `target` among the index's files (this DuckDB version, the target's platform tag). */
export function wheelFor(files: Iterable<string>, name: ExtensionName, target: Target, duckdb = version): string {
  const prefix = `duckdb_extension_${name}-${duckdb}-`;
  const matching = [...files].filter((file) => {
    if (!file.startsWith(prefix) || !file.endsWith(".whl")) return false;
    const platforms = file.slice(0, -".whl".length).split("-").at(-1)!.split("."); // compressed tag sets: a.b
    return platforms.some((p) => TARGETS[target].wheelPlatform.test(p));
  });
  if (matching.length !== 1) throw new Error(`${matching.length} wheels of duckdb-extension-${name} ${duckdb} for ${target} on PyPI${matching.length ? `: ${matching.join(", ")}` : ""}`);
  return matching[0]!;
}

/** The cached extension `name` of `target`, fetched from PyPI (as pinned) when missing. */
export async function fetchExtension(name: ExtensionName, target: Target = "linux-x64"): Promise<string> {
  const path = extensionFile(name, target);
  const pin = pinOf(name, target);
  const mark = `${path}.wheel-sha256`;
  if (existsSync(path) && existsSync(mark) && readFileSync(mark, "utf8") === pin.sha256) return path;
  const project = `duckdb-extension-${name}`;
  const listed = (await indexOf(project)).get(pin.wheel);
  if (!listed) throw new Error(`${pin.wheel} (pinned) is not in PyPI's index of ${project}`);
  if (listed.sha256 !== pin.sha256) throw new Error(`${pin.wheel}: PyPI's index says sha256 ${listed.sha256}, the pin is ${pin.sha256}`);
  const response = await fetch(listed.url);
  if (!response.ok) throw new Error(`${listed.url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const sha = createHash("sha256").update(bytes).digest("hex");
  if (sha !== pin.sha256) throw new Error(`${pin.wheel}: sha256 ${sha}, pinned ${pin.sha256}`);
  const data = readZipEntry(bytes, `duckdb_extension_${name}/extensions/v${version}/${name}.duckdb_extension`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.${process.pid}.tmp`, data);
  renameSync(`${path}.${process.pid}.tmp`, path);
  writeFileSync(mark, pin.sha256);
  console.error(`fetched ${name} ${version} for ${target} (${data.length} bytes) from ${pin.wheel}`);
  return path;
}

/** Every embedded extension of `target`, cached (fetched in parallel when missing), by name. */
export async function fetchExtensions(target: Target = "linux-x64"): Promise<Record<ExtensionName, string>> {
  const paths = await Promise.all(EXTENSIONS.map((name) => fetchExtension(name, target)));
  return Object.fromEntries(EXTENSIONS.map((name, i) => [name, paths[i]!])) as Record<ExtensionName, string>;
}

/** Pins every target's wheels of this DuckDB version from PyPI's index (other versions' pins are dropped). */
export async function pinFromIndex(): Promise<Pins> {
  const byTarget: Partial<Record<Target, Record<ExtensionName, WheelPin>>> = {};
  for (const name of EXTENSIONS) {
    const index = await indexOf(`duckdb-extension-${name}`);
    for (const target of TARGET_NAMES) {
      const wheel = wheelFor(index.keys(), name, target);
      (byTarget[target] ??= {} as Record<ExtensionName, WheelPin>)[name] = { wheel, sha256: index.get(wheel)!.sha256 };
    }
  }
  const pins: Pins = { [version]: byTarget };
  writeFileSync(PINS, `${JSON.stringify(pins, null, 2)}\n`);
  return pins;
}

/** One entry of a zip archive, found through the central directory. */
export function readZipEntry(zip: Uint8Array, name: string): Uint8Array {
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

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args[0] === "--pin") console.log(JSON.stringify(await pinFromIndex(), null, 2));
  else
    for (const target of args.length ? args : ["linux-x64"]) {
      if (!isTarget(target)) throw new Error(`unknown target ${target} (targets: ${TARGET_NAMES.join(", ")})`);
      for (const path of Object.values(await fetchExtensions(target))) console.log(path);
    }
}
