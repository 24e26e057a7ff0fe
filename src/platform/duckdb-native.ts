/**
 * Makes DuckDB's native library loadable, in both ways ferry runs:
 *  - from source (`bun src/main.ts`): the addon finds libduckdb.so beside itself (RUNPATH $ORIGIN);
 *  - as the compiled binary: the addon is embedded, but its NEEDED libduckdb.so is not. We embed
 *    the library as a file asset, write it once to a cache folder keyed by its content hash and
 *    dlopen it before the addon is loaded; the dynamic linker then satisfies the addon's NEEDED
 *    entry (matched by soname) with the already-loaded copy.
 * This is the only module that knows about that; everything else imports `loadDuckDb()`.
 */
import { dlopen, FFIType } from "bun:ffi";
import { chmodSync, existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
// @ts-ignore -- a file asset: a real path from source, a /$bunfs/ path inside the binary
import embeddedLib from "../../node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so" with { type: "file" };
import bindings from "../../node_modules/@duckdb/node-bindings-linux-x64/package.json" with { type: "json" };

type NodeApi = typeof import("@duckdb/node-api");
let loaded: Promise<NodeApi> | undefined;

function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && xdg.length > 0 ? xdg : join(homedir() || tmpdir(), ".cache");
  return join(base, "ferry");
}

/**
 * The cache is keyed by the bindings' version and the file's size, read without touching its
 * bytes (hashing the 70 MB library at every start cost ~140 MB of peak memory); the copy is
 * streamed once.
 */
async function extractEmbedded(path: string, name: string): Promise<string> {
  const size = Bun.file(path).size;
  const key = `${bindings.version}-${size}`;
  let dir = join(cacheRoot(), `duckdb-${key}`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    dir = join(tmpdir(), `ferry-duckdb-${key}`);
    mkdirSync(dir, { recursive: true });
  }
  const target = join(dir, name);
  if (!existsSync(target) || statSync(target).size !== size) {
    const temp = `${target}.${process.pid}.tmp`;
    await Bun.write(temp, Bun.file(path));
    chmodSync(temp, 0o755);
    renameSync(temp, target); // atomic: concurrent first runs never see half a file
  }
  return target;
}

const embeddedInBinary = (path: string) => path.startsWith("/$bunfs/") || path.includes("~BUN");

/**
 * A real path of DuckDB's httpfs extension (signed by DuckDB; the version of the embedded
 * library), for LOAD: embedded in the binary, written once beside the library.
 */
export async function httpfsExtensionPath(): Promise<string> {
  const { default: path } = await import("./duckdb-httpfs-asset.ts");
  return embeddedInBinary(path) ? extractEmbedded(path, "httpfs.duckdb_extension") : path;
}

/** Loads `@duckdb/node-api` once, preparing the native library first when running compiled. */
export function loadDuckDb(): Promise<NodeApi> {
  loaded ??= (async () => {
    const lib = String(embeddedLib);
    if (embeddedInBinary(lib)) {
      const real = await extractEmbedded(lib, "libduckdb.so");
      // Keep the handle open for the life of the process.
      dlopen(real, { duckdb_library_version: { args: [], returns: FFIType.cstring } });
    }
    return await import("@duckdb/node-api");
  })();
  return loaded;
}
