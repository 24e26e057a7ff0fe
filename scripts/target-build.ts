/**
 * Compiles ferry for one target (src/platform/targets.ts): the one place that gathers a target's
 * native files — DuckDB's library and addon (scripts/duckdb-bindings.ts) and the extensions
 * (scripts/duckdb-extensions.ts) — stores them zstd-compressed (cached by content), and has
 * `bun build --compile` embed them: src/platform/embedded-assets.ts is replaced by a module
 * generated for the target (a file import per native file, each one's SHA-256, the target, DuckDB's
 * version), and @duckdb/node-bindings' loader by the addon src/platform/duckdb-native.ts writes
 * out. Used by scripts/build.ts (dist/ferry) and scripts/release.ts (every platform).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { constants, zstdCompress } from "node:zlib";
import type { BunPlugin } from "bun";
import { EXTENSIONS, extensionFileName, type ExtensionName } from "../src/platform/duckdb-extension-names.ts";
import { sha256File } from "../src/platform/hash.ts";
import { ADDON, TARGETS, type Target } from "../src/platform/targets.ts";
import { fetchBindings } from "./duckdb-bindings.ts";
import { fetchExtensions } from "./duckdb-extensions.ts";
import { adhocSign, signatureMatches } from "./macho.ts";

const ROOT = resolve(import.meta.dir, "..");
const BUILD_CACHE = join(ROOT, "node_modules/.cache/ferry-build");

/** zstd's level for the embedded files (19: the smallest a release needs, see README "Download"). */
export const ZSTD_LEVEL = 19;

export interface NativeFile {
  /** The name it is written out and loaded as. */
  name: string;
  /** The file as fetched (uncompressed). */
  source: string;
  sha256: string;
}

export interface NativeFiles {
  target: Target;
  duckdb: string;
  bindings: string;
  library: NativeFile;
  addon: NativeFile;
  extensions: Record<ExtensionName, NativeFile>;
}

const native = (name: string, source: string): NativeFile => ({ name, source, sha256: sha256File(source) });

/** Every native file `target` embeds, fetched (and checked) when not cached yet. */
export async function nativeFiles(target: Target): Promise<NativeFiles> {
  const [bindings, extensions] = await Promise.all([fetchBindings(target), fetchExtensions(target)]);
  return {
    target,
    duckdb: bindings.duckdb,
    bindings: bindings.version,
    library: native(TARGETS[target].library, bindings.library),
    addon: native(ADDON, bindings.addon),
    extensions: Object.fromEntries(EXTENSIONS.map((name) => [name, native(extensionFileName(name), extensions[name])])) as Record<ExtensionName, NativeFile>,
  };
}

const compress = promisify(zstdCompress);

/** How the native files are packed: DuckDB's library and addon (needed at every start), then the extensions (loaded when used; they share much code, stored once in one stream). */
export const packLayout = (files: NativeFiles): NativeFile[][] => [[files.library, files.addon], EXTENSIONS.map((name) => files.extensions[name])];

/** zstd's parameters for a pack: `level`, and a window over the whole pack (up to 128 MiB, what any zstd decoder accepts by default) so repeats across files are found. */
export function zstdParams(level: number, bytes: number): Record<number, number> {
  const windowLog = Math.min(27, Math.max(20, Math.ceil(Math.log2(Math.max(1, bytes)))));
  return {
    [constants.ZSTD_c_compressionLevel]: level,
    [constants.ZSTD_c_windowLog]: windowLog,
    [constants.ZSTD_c_enableLongDistanceMatching]: 1,
    [constants.ZSTD_c_checksumFlag]: 1,
    [constants.ZSTD_c_contentSizeFlag]: 1,
  };
}

/** The files' contents back to back, zstd-compressed at `level` (0: as they are), cached by their content. */
export async function packed(files: NativeFile[], level: number, cache = join(BUILD_CACHE, "packs")): Promise<string> {
  const key = new Bun.CryptoHasher("sha256").update(JSON.stringify([files.map((f) => f.sha256), level, zstdParams(level, 0)])).digest("hex").slice(0, 32);
  const dir = join(cache, key);
  const path = join(dir, `${files.map((f) => f.name).join("+")}.${level > 0 ? "zst" : "bin"}`); // Bun embeds it under this name, with a hash
  if (existsSync(path)) return path;
  const data = Buffer.concat(await Promise.all(files.map(async (f) => await Bun.file(f.source).bytes())));
  const out = level > 0 ? await compress(data, { params: zstdParams(level, data.length) }) : data;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${path}.${process.pid}.tmp`, out);
  renameSync(`${path}.${process.pid}.tmp`, path);
  return path;
}

/** The generated replacement of src/platform/embedded-assets.ts: one file import per pack. */
export function assetModule(files: NativeFiles, packs: { path: string; files: NativeFile[] }[], zstd: boolean): string {
  const entry = (f: NativeFile) => `{ name: ${JSON.stringify(f.name)}, size: ${Bun.file(f.source).size}, sha256: ${JSON.stringify(f.sha256)} }`;
  return [
    `// Generated by scripts/target-build.ts for ${files.target}.`,
    ...packs.map((pack, i) => `import pack${i} from ${JSON.stringify(pack.path)} with { type: "file" };`),
    `export const embedded = {`,
    `  target: ${JSON.stringify(files.target)}, duckdb: ${JSON.stringify(files.duckdb)}, bindings: ${JSON.stringify(files.bindings)},`,
    `  packs: [`,
    ...packs.map((pack, i) => `    { path: String(pack${i}), zstd: ${zstd}, files: [${pack.files.map(entry).join(", ")}] },`),
    `  ],`,
    `  library: ${JSON.stringify(files.library.name)}, addon: ${JSON.stringify(files.addon.name)},`,
    `  extensions: { ${EXTENSIONS.map((name) => `${JSON.stringify(name)}: ${JSON.stringify(files.extensions[name].name)}`).join(", ")} },`,
    `};`,
    "",
  ].join("\n");
}

/** Swaps in the generated asset module, and makes @duckdb/node-bindings load the written-out addon. */
export function embedPlugin(module: string): BunPlugin {
  const nativeModule = join(ROOT, "src/platform/duckdb-native.ts");
  return {
    name: "ferry-embedded-assets",
    setup(build) {
      build.onLoad({ filter: /[\\/]src[\\/]platform[\\/]embedded-assets\.ts$/ }, () => ({ contents: module, loader: "ts" }));
      build.onLoad({ filter: /[\\/]@duckdb[\\/]node-bindings[\\/]duckdb\.js$/ }, () => ({
        contents: `module.exports = require(${JSON.stringify(nativeModule)}).embeddedAddon();`,
        loader: "js",
      }));
    },
  };
}

/**
 * Bun 1.4.5 leaves the darwin-x64 runtime's own (Developer ID) signature in place over the changed
 * file (its darwin-arm64 output is signed right): a signature that does not match the file is
 * replaced by an ad-hoc one (scripts/macho.ts), as Apple's linker would make.
 */
function resignIfBroken(outfile: string) {
  const file = new Uint8Array(readFileSync(outfile));
  if (signatureMatches(file)) return;
  writeFileSync(`${outfile}.${process.pid}.tmp`, adhocSign(file), { mode: 0o755 });
  renameSync(`${outfile}.${process.pid}.tmp`, outfile);
}

export interface BuildOptions {
  target: Target;
  outfile: string;
  /** src/main.ts unless another program is compiled the same way (tests do). */
  entry?: string;
  /** zstd level of the embedded native files; 0 stores them as they are. */
  zstdLevel?: number;
}

export interface BuildResult {
  outfile: string;
  files: NativeFiles;
  /** SHA-256 of each native file by the name it is written out as (also in node_modules/.cache/ferry-build/<target>/embedded-sha256.json). */
  sums: Record<string, string>;
  seconds: { fetch: number; compress: number; compile: number };
}

/** Fetches, compresses and embeds `target`'s native files and compiles `entry` into `outfile`. */
export async function buildBinary(opts: BuildOptions): Promise<BuildResult> {
  const { target, outfile } = opts;
  const level = opts.zstdLevel ?? ZSTD_LEVEL;
  const t0 = performance.now();
  const files = await nativeFiles(target);
  const t1 = performance.now();
  const layout = packLayout(files);
  const packs = await Promise.all(layout.map(async (group) => ({ path: await packed(group, level), files: group })));
  const t2 = performance.now();
  const sums = Object.fromEntries(layout.flat().map((f) => [f.name, f.sha256]));
  const sumsFile = join(BUILD_CACHE, target, "embedded-sha256.json");
  mkdirSync(join(BUILD_CACHE, target), { recursive: true });
  writeFileSync(`${sumsFile}.${process.pid}.tmp`, `${JSON.stringify(sums, null, 2)}\n`);
  renameSync(`${sumsFile}.${process.pid}.tmp`, sumsFile);

  const result = await Bun.build({
    entrypoints: [resolve(ROOT, opts.entry ?? "src/main.ts")],
    compile: { target: TARGETS[target].bunTarget, outfile: resolve(outfile) },
    minify: { syntax: true, whitespace: true },
    plugins: [embedPlugin(assetModule(files, packs, level > 0))],
  });
  if (!result.success) throw new AggregateError(result.logs, `bun build for ${target} failed:\n${result.logs.map(String).join("\n")}`);
  if (TARGETS[target].os === "darwin") resignIfBroken(outfile);
  return { outfile, files, sums, seconds: { fetch: (t1 - t0) / 1000, compress: (t2 - t1) / 1000, compile: (performance.now() - t2) / 1000 } };
}
