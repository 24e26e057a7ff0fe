/**
 * The native files a compiled ferry carries: DuckDB's shared library, its node addon and the
 * extensions. They are stored in packs: a pack is its files' contents back to back, zstd-compressed
 * as one stream (the extensions share much of their code, which one stream stores once). Each file
 * has the SHA-256 of its content, checked whenever it is about to be loaded.
 * Run from source, nothing is embedded (`embedded` is undefined: the addon and library are the
 * installed package's, the extensions the build's cache). `bun build` replaces this module with
 * one generated for the target (scripts/target-build.ts), which imports each pack as a file asset
 * and names its target and DuckDB's version; src/platform/duckdb-native.ts writes the files out.
 */
import type { ExtensionName } from "./duckdb-extension-names.ts";
import type { Target } from "./targets.ts";

export interface PackedFile {
  /** The name it is written out and loaded as (libduckdb.so, duckdb.node, httpfs.duckdb_extension…). */
  name: string;
  size: number;
  /** The SHA-256 of its content. */
  sha256: string;
}

export interface EmbeddedPack {
  /** Where it is inside the binary (/$bunfs/… or B:/~BUN/…), or on disk. */
  path: string;
  /** One zstd frame; otherwise the contents as they are. */
  zstd: boolean;
  /** In the order their contents follow each other. */
  files: PackedFile[];
}

export interface EmbeddedAssets {
  target: Target;
  /** DuckDB's version (e.g. 1.5.5) and its node bindings' (1.5.5-r.5). */
  duckdb: string;
  bindings: string;
  packs: EmbeddedPack[];
  /** The file names of DuckDB's library, its addon and each extension, in `packs`. */
  library: string;
  addon: string;
  extensions: Record<ExtensionName, string>;
}

export const embedded: EmbeddedAssets | undefined = undefined;
