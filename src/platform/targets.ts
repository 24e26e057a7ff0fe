/**
 * The platforms ferry is built for, and what each one's native files are: one table, read by the
 * build (scripts/build.ts, scripts/release.ts, which fetch and embed those files) and by the binary
 * (which names its target in --version and writes the files out under these names).
 */

export interface TargetSpec {
  os: "linux" | "darwin" | "windows";
  arch: "x64" | "arm64";
  /** `bun build --compile --target=…` */
  bunTarget: "bun-linux-x64" | "bun-linux-arm64" | "bun-darwin-arm64" | "bun-darwin-x64" | "bun-windows-x64";
  /** DuckDB's node bindings for it on npm: `@duckdb/node-bindings-<bindings>`. */
  bindings: string;
  /** DuckDB's shared library in that package, loaded before the addon. */
  library: string;
  /** Mach-O CPU type to keep from a universal (fat) library: DuckDB ships one dylib for both Macs. */
  machCpu?: number;
  /** The platform tag of DuckDB's extension wheels for it on PyPI (e.g. manylinux2014_x86_64). */
  wheelPlatform: RegExp;
}

const CPU_TYPE_X86_64 = 0x01000007;
const CPU_TYPE_ARM64 = 0x0100000c;

export const TARGETS = {
  "linux-x64": { os: "linux", arch: "x64", bunTarget: "bun-linux-x64", bindings: "linux-x64", library: "libduckdb.so", wheelPlatform: /^manylinux[\w.]*_x86_64$/ },
  "linux-arm64": { os: "linux", arch: "arm64", bunTarget: "bun-linux-arm64", bindings: "linux-arm64", library: "libduckdb.so", wheelPlatform: /^manylinux[\w.]*_aarch64$/ },
  "darwin-arm64": { os: "darwin", arch: "arm64", bunTarget: "bun-darwin-arm64", bindings: "darwin-arm64", library: "libduckdb.dylib", machCpu: CPU_TYPE_ARM64, wheelPlatform: /^macosx_[\d_]+_arm64$/ },
  "darwin-x64": { os: "darwin", arch: "x64", bunTarget: "bun-darwin-x64", bindings: "darwin-x64", library: "libduckdb.dylib", machCpu: CPU_TYPE_X86_64, wheelPlatform: /^macosx_[\d_]+_x86_64$/ },
  "windows-x64": { os: "windows", arch: "x64", bunTarget: "bun-windows-x64", bindings: "win32-x64", library: "duckdb.dll", wheelPlatform: /^win_amd64$/ },
} as const satisfies Record<string, TargetSpec>;

export type Target = keyof typeof TARGETS;
export const TARGET_NAMES = Object.keys(TARGETS) as Target[];

export const isTarget = (name: string): name is Target => Object.hasOwn(TARGETS, name);

/** The file name of ferry's executable on `target`. */
export const executableName = (target: Target) => (TARGETS[target].os === "windows" ? "ferry.exe" : "ferry");

/** The addon's file name in every bindings package. */
export const ADDON = "duckdb.node";

/** The target of a process.platform / process.arch pair (this process's by default), if ferry ships one. */
export function hostTarget(platform: string = process.platform, arch: string = process.arch): Target | undefined {
  const os = platform === "win32" ? "windows" : platform;
  const name = `${os}-${arch}`;
  return isTarget(name) ? name : undefined;
}
