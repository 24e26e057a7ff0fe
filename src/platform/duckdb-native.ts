/**
 * Makes DuckDB's native code loadable, in both ways ferry runs:
 *  - from source (`bun src/main.ts`): the installed bindings package, whose addon finds DuckDB's
 *    library beside itself; the extensions are the ones the build cached;
 *  - as the compiled binary: the library, the addon and the extensions are embedded (see
 *    embedded-assets.ts; stored zstd-compressed). The library and the addon are written, side by
 *    side as in the npm package, to a private cache folder (private-cache.ts), their SHA-256
 *    checked against the one recorded at build time on every start; the library is loaded first
 *    (Linux matches the addon's NEEDED entry by soname, Windows by module name, macOS finds it
 *    through the addon's @loader_path), then the addon from there: the build replaces
 *    @duckdb/node-bindings' loader with `embeddedAddon()` (Bun itself would extract only the
 *    .node file, elsewhere, oven-sh/bun#17312). The extensions are written out the same way, each
 *    when first loaded.
 * This is the only module that knows about that; everything else imports `loadDuckDb()`.
 */
import { dlopen, FFIType } from "bun:ffi";
import { join } from "node:path";
import { extensionFileName, type ExtensionName } from "./duckdb-extension-names.ts";
import { embedded, type EmbeddedAssets } from "./embedded-assets.ts";
import { privateCacheDir, verifiedPack } from "./private-cache.ts";
import { hostTarget } from "./targets.ts";

export { EXTENSIONS, type ExtensionName } from "./duckdb-extension-names.ts";

type NodeApi = typeof import("@duckdb/node-api");
let loaded: Promise<NodeApi> | undefined;
let addonPath: string | undefined;

/**
 * The embedded files named, as verified copies (name → path), each in the private folder of the
 * bindings version and the content of the file `folderOf` names: its own by default (the addon
 * goes beside the library, in the library's folder).
 */
async function writeOut(assets: EmbeddedAssets, names: string[], folderOf: (name: string) => string = (name) => name): Promise<Map<string, string>> {
  const files = new Map(assets.packs.flatMap((pack) => pack.files.map((f) => [f.name, f] as const)));
  const paths = new Map<string, string>();
  for (const pack of assets.packs) {
    const wanted = new Map<string, string>();
    for (const name of names.filter((n) => pack.files.some((f) => f.name === n))) {
      const key = files.get(folderOf(name));
      if (!key) throw new Error(`${folderOf(name)} is not embedded in this binary`);
      wanted.set(name, privateCacheDir(`duckdb-${assets.bindings}-${key.sha256.slice(0, 16)}`).dir);
    }
    if (wanted.size) for (const [name, { path }] of await verifiedPack(pack, wanted)) paths.set(name, path);
  }
  const missing = names.filter((n) => !paths.has(n));
  if (missing.length) throw new Error(`not embedded in this binary: ${missing.join(", ")}`);
  return paths;
}

/**
 * A real path of one of DuckDB's extensions (signed by DuckDB; of the embedded library's version),
 * for LOAD: compiled, written to a private folder and checked like the library, on first use only;
 * from source, the file the build cached for this platform.
 */
export async function extensionPath(name: ExtensionName): Promise<string> {
  if (embedded) {
    const file = embedded.extensions[name];
    return (await writeOut(embedded, [file])).get(file)!;
  }
  return join(import.meta.dir, "../../node_modules/.cache/ferry-duckdb-extensions", hostTarget() ?? "unsupported-platform", extensionFileName(name));
}

/**
 * The DuckDB addon's exports, loaded from the private folder `loadDuckDb()` wrote it to. The
 * compiled binary's @duckdb/node-bindings module is this call (scripts/target-build.ts).
 */
export function embeddedAddon(): unknown {
  if (!addonPath) throw new Error("DuckDB's addon was required before loadDuckDb() wrote it out");
  const module = { exports: {} as unknown };
  process.dlopen(module, addonPath);
  return module.exports;
}

/** Loads `@duckdb/node-api` once, writing out and loading the native library and addon first when running compiled. */
export function loadDuckDb(): Promise<NodeApi> {
  loaded ??= (async () => {
    if (embedded) {
      const { library, addon } = embedded;
      const paths = await writeOut(embedded, [library, addon], () => library);
      // Keep the handle open for the life of the process.
      dlopen(paths.get(library)!, { duckdb_library_version: { args: [], returns: FFIType.cstring } });
      addonPath = paths.get(addon);
    }
    return await import("@duckdb/node-api");
  })();
  return loaded;
}
