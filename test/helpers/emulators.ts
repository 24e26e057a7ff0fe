/**
 * The emulators the release tests run foreign binaries under, from Debian's packages, installed
 * with apt-get when missing (debian-packages.ts: apt's output in a log file, never on stdout):
 * qemu-user-static's `qemu-aarch64-static` (run directly, no binfmt_misc needed) and wine64.
 * Missing and not installable is an error, never a skip.
 */
import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { installPackages, PACKAGES_LOG } from "./debian-packages.ts";
import { forwarderDll } from "./executables.ts";

/** The cache folder scripts/services/common.sh uses. */
export const FERRY_CACHE = process.env.FERRY_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "ferry");

const which = (cmd: string) => Bun.which(cmd, { PATH: `${process.env.PATH ?? ""}:/usr/bin:/usr/lib/wine` });

export interface Emulator {
  /** The emulator's program: the foreign binary and its arguments follow it. */
  command: string;
  /** Environment for it. */
  env: Record<string, string>;
}

/** Where Debian's cross packages put the arm64 loader, libc and libstdc++ (qemu-user's -L). */
const ARM64_ROOT = "/usr/aarch64-linux-gnu";

let qemu: Promise<Emulator> | undefined;
/**
 * qemu-aarch64-static with an arm64 glibc and libstdc++ to load a dynamically linked binary
 * (Debian's libc6-arm64-cross, libstdc++6-arm64-cross), each installed when missing.
 */
export function qemuAarch64(): Promise<Emulator> {
  qemu ??= (async () => {
    const missing = [
      ...(which("qemu-aarch64-static") ? [] : ["qemu-user-static"]),
      ...(existsSync(join(ARM64_ROOT, "lib/ld-linux-aarch64.so.1")) ? [] : ["libc6-arm64-cross"]),
      ...(existsSync(join(ARM64_ROOT, "lib/libstdc++.so.6")) ? [] : ["libstdc++6-arm64-cross"]),
    ];
    if (missing.length) await installPackages(missing);
    const command = which("qemu-aarch64-static");
    if (!command) throw new Error(`qemu-user-static installed but no qemu-aarch64-static on PATH, see ${PACKAGES_LOG}`);
    return { command, env: { QEMU_LD_PREFIX: ARM64_ROOT } };
  })();
  return qemu;
}

/**
 * What a fresh wine prefix needs before Bun's Windows runtime starts in it:
 *  - Windows 10 as the reported version (wine 8 makes a Windows 7 prefix; Bun needs Windows 10 1809
 *    or later, and under "Windows 7" it crashes in its console Ctrl-C handler);
 *  - bcryptprimitives.dll, which Bun's executable imports (ProcessPrng) and Debian bookworm's wine 8
 *    lacks (wine added it in 8.13: libuv/libuv#4836): a DLL of one forwarded export, ProcessPrng → advapi32.SystemFunction036
 *    (RtlGenRandom: the same arguments, the same "fill this buffer with random bytes"), written here.
 * The prefix's version: bump it when these steps change, so an old prefix is made again.
 */
const PREFIX_SETUP = "ferry-wine-prefix-2";

async function spawnLogged(cmd: string[], env: Record<string, string>, log: string): Promise<number> {
  const p = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  appendFileSync(log, `$ ${cmd.join(" ")}\n${out}${err}exit ${code}\n`);
  return code;
}

/** Makes the prefix in a folder of its own, then renames it into place (another process may be making it too). */
async function makePrefix(wine: string, prefix: string, baseEnv: Record<string, string>): Promise<void> {
  const log = join(FERRY_CACHE, "run", "wine-prefix.log");
  mkdirSync(join(FERRY_CACHE, "run"), { recursive: true });
  const building = `${prefix}.${process.pid}.tmp`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  const env = { ...baseEnv, WINEPREFIX: building };
  const steps = [
    [wine, "wineboot", "--init"],
    [wine, "reg", "add", "HKCU\\Software\\Wine", "/v", "Version", "/t", "REG_SZ", "/d", "win10", "/f"],
  ];
  for (const step of steps) {
    if ((await spawnLogged(step, env, log)) !== 0) throw new Error(`${step.slice(1).join(" ")} failed in ${building}, see ${log}`);
  }
  writeFileSync(join(building, "drive_c/windows/system32/bcryptprimitives.dll"), forwarderDll("bcryptprimitives.dll", { ProcessPrng: "advapi32.SystemFunction036" }));
  // The prefix's wineserver writes the registry out when it exits: wait for that before moving it.
  await spawnLogged([join(dirname(wine), "wineserver"), "-w"], env, log);
  writeFileSync(join(building, PREFIX_SETUP), "");
  if (existsSync(join(prefix, PREFIX_SETUP))) return void rmSync(building, { recursive: true, force: true }); // made meanwhile
  rmSync(prefix, { recursive: true, force: true }); // an older setup
  try {
    renameSync(building, prefix);
  } catch (e) {
    rmSync(building, { recursive: true, force: true });
    if (!existsSync(join(prefix, PREFIX_SETUP))) throw e;
  }
}

let wine: Promise<Emulator> | undefined;
/** wine64, installed when missing, with a prefix of its own made once under FERRY_CACHE (see PREFIX_SETUP). */
export function wine64(): Promise<Emulator> {
  wine ??= (async () => {
    let command = which("wine64");
    if (!command) {
      await installPackages(["wine64"]);
      command = which("wine64");
      if (!command) throw new Error(`wine64 installed but not found on PATH or in /usr/lib/wine, see ${PACKAGES_LOG}`);
    }
    const prefix = join(FERRY_CACHE, "wine64-prefix");
    // No debug output, no GUI, no Mono or Gecko installer prompts.
    const env: Record<string, string> = { WINEARCH: "win64", WINEDEBUG: "-all", WINEDLLOVERRIDES: "mscoree,mshtml=", DISPLAY: "" };
    if (!existsSync(join(prefix, PREFIX_SETUP))) await makePrefix(command, prefix, env);
    return { command, env: { ...env, WINEPREFIX: prefix } };
  })();
  return wine;
}
