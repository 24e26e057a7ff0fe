/**
 * Debian packages a test needs (a shell, a downloader), installed with apt-get when their program
 * is missing, as scripts/services/postgres does: apt's output goes to
 * <FERRY_CACHE>/run/debian-packages.log, never to stdout. Missing and not installable is an error.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const FERRY_CACHE = process.env.FERRY_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "ferry");
export const PACKAGES_LOG = join(FERRY_CACHE, "run", "debian-packages.log");

const which = (cmd: string) => Bun.which(cmd, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/usr/bin:/sbin:/bin` });

async function aptGet(args: string[]): Promise<number> {
  const cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=600", ...args];
  const p = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  appendFileSync(PACKAGES_LOG, `$ ${cmd.join(" ")}\n${out}${err}exit ${code}\n`);
  return code;
}

/** Installs these packages (apt-get update first only if the install fails). */
export async function installPackages(missing: string[]): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error(`missing ${missing.join(", ")} and not root: apt-get install ${missing.join(" ")}`);
  mkdirSync(join(FERRY_CACHE, "run"), { recursive: true });
  const install = ["install", "-y", "--no-install-recommends", ...missing];
  if ((await aptGet(install)) !== 0) {
    await aptGet(["update"]);
    if ((await aptGet(install)) !== 0) throw new Error(`apt-get install ${missing.join(" ")} failed, see ${PACKAGES_LOG}`);
  }
}

/** The path of each program, installing its package ({program: package}) first when it is missing. */
export async function ensurePrograms(programs: Record<string, string>): Promise<Record<string, string>> {
  const missing = [...new Set(Object.entries(programs).filter(([cmd]) => !which(cmd)).map(([, pkg]) => pkg))];
  if (missing.length) await installPackages(missing);
  return Object.fromEntries(
    Object.keys(programs).map((cmd) => {
      const path = which(cmd);
      if (!path) throw new Error(`${programs[cmd]} installed but no ${cmd} on PATH, see ${PACKAGES_LOG}`);
      return [cmd, path];
    }),
  );
}
