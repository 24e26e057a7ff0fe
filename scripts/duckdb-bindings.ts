/**
 * DuckDB's node bindings for one target: its addon (duckdb.node) and DuckDB's shared library, from
 * the package `@duckdb/node-bindings-<platform>` of the exact version @duckdb/node-bindings asks
 * for. The host's package is the one `npm ci` installed; any other is fetched from the npm
 * registry, and its tarball must match the integrity package-lock.json pins (which the registry
 * must report too). A universal macOS library is cut down to the target's CPU (scripts/macho.ts).
 * Cached in node_modules/.cache/ferry-duckdb-bindings/<target>/.
 *   bun scripts/duckdb-bindings.ts [target...]
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ADDON, isTarget, TARGET_NAMES, TARGETS, type Target } from "../src/platform/targets.ts";
import { thinMachO } from "./macho.ts";

const ROOT = resolve(import.meta.dir, "..");
const CACHE = join(ROOT, "node_modules/.cache/ferry-duckdb-bindings");

export interface Bindings {
  /** The bindings package's version (e.g. 1.5.5-r.5). */
  version: string;
  /** DuckDB's version (e.g. 1.5.5). */
  duckdb: string;
  addon: string;
  library: string;
}

export const packageName = (target: Target) => `@duckdb/node-bindings-${TARGETS[target].bindings}`;

/** The version and integrity package-lock.json pins for `target`'s bindings package. */
export function pinnedPackage(target: Target): { version: string; integrity: string } {
  const name = packageName(target);
  const main = JSON.parse(readFileSync(join(ROOT, "node_modules/@duckdb/node-bindings/package.json"), "utf8")) as { version: string; optionalDependencies?: Record<string, string> };
  const wanted = main.optionalDependencies?.[name];
  if (!wanted) throw new Error(`@duckdb/node-bindings ${main.version} has no optional dependency ${name}`);
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string; integrity?: string }> };
  const entry = lock.packages[`node_modules/${name}`];
  if (!entry?.integrity || entry.version !== wanted) throw new Error(`package-lock.json pins no ${name}@${wanted} with an integrity (run npm install to update the lock)`);
  return { version: wanted, integrity: entry.integrity };
}

/** DuckDB's version of a bindings version: 1.5.5-r.5 → 1.5.5. */
export const duckdbVersion = (bindingsVersion: string) => bindingsVersion.replace(/-r\.\d+$/, "");

/** An npm integrity string (`sha512-<base64>`) of `bytes`, in the algorithm of `integrity`. */
export function integrityOf(bytes: Uint8Array, integrity: string): string {
  const algorithm = integrity.slice(0, integrity.indexOf("-"));
  if (!["sha512", "sha384", "sha256"].includes(algorithm)) throw new Error(`unsupported integrity algorithm ${algorithm}`);
  return `${algorithm}-${new Bun.CryptoHasher(algorithm as "sha512").update(bytes).digest("base64")}`;
}

function registry(): string {
  const url = process.env.npm_config_registry || process.env.NPM_CONFIG_REGISTRY || "https://registry.npmjs.org/";
  return url.endsWith("/") ? url : `${url}/`;
}

/** The package's tarball from the registry, checked against the pinned integrity. */
async function fetchTarball(name: string, version: string, integrity: string): Promise<Uint8Array> {
  const metaUrl = `${registry()}${name.replace("/", "%2f")}/${version}`;
  const meta = await fetch(metaUrl);
  if (!meta.ok) throw new Error(`${metaUrl}: HTTP ${meta.status}`);
  const { dist } = (await meta.json()) as { dist: { tarball: string; integrity: string } };
  if (dist.integrity !== integrity) throw new Error(`${name}@${version}: the registry's integrity ${dist.integrity} is not the one package-lock.json pins (${integrity})`);
  const response = await fetch(dist.tarball);
  if (!response.ok) throw new Error(`${dist.tarball}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const actual = integrityOf(bytes, integrity);
  if (actual !== integrity) throw new Error(`${dist.tarball}: integrity ${actual}, package-lock.json pins ${integrity}`);
  return bytes;
}

/** The files of a package tarball (`package/<file>`), by file name. */
async function tarballFiles(tgz: Uint8Array, names: string[]): Promise<Map<string, Uint8Array>> {
  const files = await new Bun.Archive(tgz).files();
  const out = new Map<string, Uint8Array>();
  for (const name of names) {
    const file = files.get(`package/${name}`);
    if (!file) throw new Error(`the package has no ${name} (it has ${[...files.keys()].join(", ")})`);
    out.set(name, await file.bytes());
  }
  return out;
}

function writeAtomic(path: string, data: Uint8Array | string) {
  writeFileSync(`${path}.${process.pid}.tmp`, data);
  renameSync(`${path}.${process.pid}.tmp`, path);
}

/** `target`'s addon and library, cached (fetched and checked when missing). */
export async function fetchBindings(target: Target): Promise<Bindings> {
  const spec = TARGETS[target];
  const name = packageName(target);
  const { version, integrity } = pinnedPackage(target);
  const duckdb = duckdbVersion(version);
  const installed = join(ROOT, "node_modules", name);
  const installedVersion = existsSync(join(installed, "package.json")) ? (JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as { version: string }).version : undefined;
  const thin = "machCpu" in spec;
  // npm ci checked the installed package against the same integrity: use it as it is.
  if (installedVersion === version && !thin) return { version, duckdb, addon: join(installed, ADDON), library: join(installed, spec.library) };

  const dir = join(CACHE, target);
  const mark = join(dir, ".integrity");
  const cached = { version, duckdb, addon: join(dir, ADDON), library: join(dir, spec.library) };
  if (existsSync(mark) && readFileSync(mark, "utf8") === integrity && existsSync(cached.addon) && existsSync(cached.library)) return cached;

  let files: Map<string, Uint8Array>;
  if (installedVersion === version) files = new Map([ADDON, spec.library].map((f) => [f, new Uint8Array(readFileSync(join(installed, f)))]));
  else files = await tarballFiles(await fetchTarball(name, version, integrity), [ADDON, spec.library]);
  mkdirSync(dir, { recursive: true });
  writeAtomic(cached.addon, files.get(ADDON)!);
  const library = files.get(spec.library)!;
  writeAtomic(cached.library, thin ? thinMachO(library, spec.machCpu) : library);
  writeAtomic(mark, integrity);
  console.error(`fetched ${name}@${version} (${target})`);
  return cached;
}

if (import.meta.main) {
  const targets = process.argv.slice(2);
  for (const t of targets.length ? targets : TARGET_NAMES) {
    if (!isTarget(t)) throw new Error(`unknown target ${t} (targets: ${TARGET_NAMES.join(", ")})`);
    console.log(JSON.stringify({ target: t, ...(await fetchBindings(t)) }));
  }
}
