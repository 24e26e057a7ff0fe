/**
 * install.sh against a local HTTP server (Bun.serve on loopback) that serves release folders.
 * The folders are made here in the documented layout (ferry-<version>-<os>-<arch>.tar.gz holding
 * ferry-<version>-<os>-<arch>/ferry, and SHA256SUMS), each ferry a tiny script that prints its
 * version and target, so the test sees which archive was installed; other platforms are simulated
 * with a `uname` (and getconf, ldd, sysctl, id) shim first on PATH. The script runs under dash,
 * under busybox sh with nothing but busybox's applets on PATH, and with only curl or only wget.
 * The real linux-x64 archive (scripts/release.ts, built when missing or stale; or FERRY_RELEASE_DIR)
 * is installed too, from the same server, and the installed ferry answers a query.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, normalize, resolve } from "node:path";
import { ensurePrograms } from "../../helpers/debian-packages.ts";
import { archiveName, readSums, RELEASE_DIR, releaseArchives, VERSION } from "../../helpers/release.ts";

const repo = resolve(import.meta.dir, "../../..");
const script = join(repo, "install.sh");
const realRelease = RELEASE_DIR;
const SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin";

let work: string;
let www: string;
let server: ReturnType<typeof Bun.serve>;
let base: string;
let tools: Record<string, string>;
/** What the server was asked for, with the client's User-Agent (tells curl from wget). */
const requests: { path: string; agent: string }[] = [];

const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

/** A fake ferry for one target: a script printing "ferry <version> <target>". */
const fakeFerry = (version: string, target: string) => `#!/bin/sh\necho "ferry ${version} ${target}"\n`;

/**
 * A release folder: one archive per `version/target` in the documented layout, and SHA256SUMS.
 * `tamper` names archives whose bytes are changed after their sum was written; `drop` archives
 * listed in SHA256SUMS but absent.
 */
function release(name: string, archives: string[], opts: { tamper?: string[]; drop?: string[] } = {}): string {
  const dir = join(www, name);
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  for (const spec of archives) {
    const [version, target] = spec.split("/") as [string, string];
    const folder = `ferry-${version}-${target}`;
    if (target.startsWith("windows")) {
      const bytes = new TextEncoder().encode(`not a real zip: ${folder}\n`);
      writeFileSync(join(dir, `${folder}.zip`), bytes);
      lines.push(`${sha256(bytes)}  ${folder}.zip`);
      continue;
    }
    const stage = mkdtempSync(join(work, "stage-"));
    mkdirSync(join(stage, folder));
    writeFileSync(join(stage, folder, "ferry"), fakeFerry(version, target), { mode: 0o755 });
    writeFileSync(join(stage, folder, "README.md"), "# ferry\n");
    const tar = Bun.spawnSync(["tar", "-czf", join(dir, `${folder}.tar.gz`), "-C", stage, folder]);
    if (tar.exitCode !== 0) throw new Error(`tar: ${tar.stderr}`);
    rmSync(stage, { recursive: true });
    const archive = join(dir, `${folder}.tar.gz`);
    lines.push(`${sha256(readFileSync(archive))}  ${folder}.tar.gz`);
    if (opts.tamper?.includes(spec)) {
      // Same layout, other bytes: a ferry that is not the one the sums describe.
      const evil = mkdtempSync(join(work, "stage-"));
      mkdirSync(join(evil, folder));
      writeFileSync(join(evil, folder, "ferry"), `#!/bin/sh\necho "tampered"\n`, { mode: 0o755 });
      Bun.spawnSync(["tar", "-czf", archive, "-C", evil, folder]);
      rmSync(evil, { recursive: true });
    }
    if (opts.drop?.includes(spec)) rmSync(archive);
  }
  writeFileSync(join(dir, "SHA256SUMS"), `${lines.join("\n")}\n`);
  return `${base}/${name}`;
}

/**
 * A folder of stand-ins for uname and friends, put first on PATH: `uname -s`/`-m` answer as the
 * simulated machine, other flags go to the real uname.
 */
function shim(name: string, machine: { s: string; m: string }, extra: Record<string, string> = {}): string {
  const dir = join(work, "shims", name);
  mkdirSync(dir, { recursive: true });
  const scripts: Record<string, string> = {
    uname: `case "$1" in -s) echo '${machine.s}' ;; -m) echo '${machine.m}' ;; *) exec /bin/uname "$@" ;; esac`,
    ...extra,
  };
  for (const [cmd, body] of Object.entries(scripts)) writeFileSync(join(dir, cmd), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return dir;
}

/** Programs install.sh uses (besides a downloader), linked into a folder that alone is PATH. */
const BASE_TOOLS = ["uname", "sed", "grep", "awk", "cut", "tr", "tar", "gzip", "mktemp", "rm", "mkdir", "cp", "chmod", "mv", "id", "ls", "getconf", "ldd", "cat", "sha256sum"];
function toolbox(name: string, programs: string[]): string {
  const dir = join(work, "toolbox", name);
  mkdirSync(dir, { recursive: true });
  for (const cmd of programs) {
    const path = Bun.which(cmd, { PATH: SYSTEM_PATH });
    if (!path) throw new Error(`${cmd} not found for the toolbox`);
    symlinkSync(path, join(dir, cmd));
  }
  return dir;
}

interface Run {
  code: number;
  out: string;
  err: string;
  /** The --dir the run installed into, and its TMPDIR (empty again after the run). */
  dir: string;
  tmp: string;
}

let runs = 0;
/** Runs install.sh (asynchronously: the server answers from this same process). */
async function install(
  args: string[],
  opts: { shell?: string[]; path?: string; env?: Record<string, string>; dir?: string | null; piped?: boolean } = {},
): Promise<Run> {
  const n = ++runs;
  const dir = opts.dir === undefined ? join(work, `dest-${n}`) : (opts.dir ?? "");
  const tmp = join(work, `tmp-${n}`);
  mkdirSync(tmp);
  const env = { PATH: opts.path ?? SYSTEM_PATH, HOME: join(work, "home"), TMPDIR: tmp, ...opts.env };
  // piped: the script read from standard input, as in `curl -fsSL …/install.sh | sh -s -- --dir …`
  const source = opts.piped ? ["-s", "--"] : [script];
  const p = Bun.spawn([...(opts.shell ?? [tools.dash!]), ...source, ...(opts.dir === null ? [] : ["--dir", dir]), ...args], {
    cwd: work,
    env,
    stdin: opts.piped ? Bun.file(script) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err, dir, tmp };
}

/** What the installed ferry prints (the fake one says its version and target). */
function installedSays(dir: string): string {
  const p = Bun.spawnSync([join(dir, "ferry")]);
  return p.stdout.toString().trim();
}

const expectNothingInstalled = (r: Run) => {
  expect(r.code).toBe(1);
  expect(existsSync(join(r.dir, "ferry"))).toBe(false);
  expect(readdirSync(r.tmp)).toEqual([]); // its temporary folder is gone too
};

beforeAll(async () => {
  tools = await ensurePrograms({ dash: "dash", busybox: "busybox", curl: "curl", wget: "wget", tar: "tar", sha256sum: "coreutils" });
  work = mkdtempSync(join(tmpdir(), "ferry-install-"));
  www = join(work, "www");
  mkdirSync(join(work, "home"), { recursive: true });
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = decodeURIComponent(new URL(req.url).pathname);
      requests.push({ path, agent: req.headers.get("user-agent") ?? "" });
      const file = path.startsWith("/real/") ? join(realRelease, normalize(path.slice("/real/".length))) : join(www, normalize(path));
      if (!file.startsWith(www) && !file.startsWith(realRelease)) return new Response("no", { status: 403 });
      if (!existsSync(file) || !statSync(file).isFile()) return new Response("not found", { status: 404 });
      return new Response(Bun.file(file));
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(() => {
  server?.stop(true);
  if (work) rmSync(work, { recursive: true, force: true });
});

const ALL = ["1.2.3/linux-x64", "1.2.3/linux-arm64", "1.2.3/darwin-x64", "1.2.3/darwin-arm64", "1.2.3/windows-x64"];

describe("install.sh", () => {
  test("under dash with curl: the linux-x64 archive, checked, into --dir, and a note that --dir is not on PATH", async () => {
    const url = release("good", ALL);
    const before = requests.length;
    const r = await install(["--base-url", url]);
    expect(r.err).not.toContain("error");
    expect(r.code).toBe(0);
    expect(installedSays(r.dir)).toBe("ferry 1.2.3 linux-x64");
    expect(statSync(join(r.dir, "ferry")).mode & 0o777).toBe(0o755);
    expect(readdirSync(r.dir)).toEqual(["ferry"]);
    const sum = readFileSync(join(www, "good/SHA256SUMS"), "utf8").split("\n").find((l) => l.endsWith("linux-x64.tar.gz"))!.split(" ")[0];
    expect(r.out).toContain(`checksum ok (sha256 ${sum})`);
    expect(r.out).toContain(`installed ${r.dir}/ferry (ferry 1.2.3 linux-x64)`);
    expect(r.err).toContain(`note: ${r.dir} is not on your PATH`);
    expect(readdirSync(r.tmp)).toEqual([]);
    const asked = requests.slice(before);
    expect(asked.map((q) => q.path)).toEqual(["/good/SHA256SUMS", "/good/ferry-1.2.3-linux-x64.tar.gz"]);
    expect(asked.every((q) => q.agent.startsWith("curl/"))).toBe(true);
  });

  test("piped into sh (curl … | sh -s -- …), as the README's one-liner runs it, and --help there", async () => {
    const url = release("piped", ALL);
    const r = await install(["--base-url", url], { piped: true });
    expect(r.err).not.toContain("error");
    expect(r.code).toBe(0);
    expect(installedSays(r.dir)).toBe("ferry 1.2.3 linux-x64");
    const help = await install(["--help"], { piped: true, dir: null, shell: [tools.busybox!, "sh"] });
    expect(help.code).toBe(0);
    expect(help.out).toContain("--base-url URL");
  });

  test("picks the archive for the machine uname describes", async () => {
    const url = release("platforms", ALL);
    const machines: [string, { s: string; m: string }, Record<string, string>, string][] = [
      ["linux-arm64", { s: "Linux", m: "aarch64" }, {}, "linux-arm64"],
      ["linux-amd64", { s: "Linux", m: "amd64" }, {}, "linux-x64"],
      ["darwin-arm64", { s: "Darwin", m: "arm64" }, {}, "darwin-arm64"],
      ["darwin-x64", { s: "Darwin", m: "x86_64" }, { sysctl: "exit 1" }, "darwin-x64"],
      // A shell under Rosetta 2 on Apple silicon reports x86_64: the native arm64 build is picked.
      ["rosetta", { s: "Darwin", m: "x86_64" }, { sysctl: `[ "$2" = sysctl.proc_translated ] && echo 1` }, "darwin-arm64"],
    ];
    for (const [name, machine, extra, target] of machines) {
      const r = await install(["--base-url", url], { path: `${shim(name, machine, extra)}:${SYSTEM_PATH}` });
      expect({ name, code: r.code, err: r.err }).toEqual({ name, code: 0, err: expect.not.stringContaining("error") });
      expect(installedSays(r.dir)).toBe(`ferry 1.2.3 ${target}`);
    }
  });

  test("refuses machines without a release, saying why, and installs nothing", async () => {
    const url = release("refusals", ALL);
    const cases: [string, { s: string; m: string }, Record<string, string>, string][] = [
      ["freebsd", { s: "FreeBSD", m: "amd64" }, {}, "no ferry release for FreeBSD (amd64)"],
      ["mingw", { s: "MINGW64_NT-10.0-19045", m: "x86_64" }, {}, "use install.ps1"],
      ["armv7", { s: "Linux", m: "armv7l" }, {}, "no ferry release for Linux on armv7l: releases are for x64 and arm64"],
      ["pi32", { s: "Linux", m: "aarch64" }, { getconf: `[ "$1" = LONG_BIT ] && echo 32 && exit 0; exec /usr/bin/getconf "$@"` }, "32-bit userland"],
    ];
    for (const [name, machine, extra, message] of cases) {
      const r = await install(["--base-url", url], { path: `${shim(name, machine, extra)}:${SYSTEM_PATH}` });
      expect(r.err).toContain(message);
      expectNothingInstalled(r);
    }
  });

  test("musl (Alpine): refused with a pointer to the container image, unless the release has a musl archive", async () => {
    const musl = {
      getconf: `case "$1" in LONG_BIT) echo 64 ;; *) echo "getconf: Unrecognized variable '$1'" >&2; exit 1 ;; esac`,
      ldd: `echo "musl libc (x86_64)" >&2; exit 1`,
    };
    const path = `${shim("alpine", { s: "Linux", m: "x86_64" }, musl)}:${SYSTEM_PATH}`;
    const refused = await install(["--base-url", release("glibc-only", ALL)], { path });
    expect(refused.err).toContain("this Linux uses musl libc (e.g. Alpine): the release has no linux-x64-musl archive");
    expect(refused.err).toContain("container image");
    expectNothingInstalled(refused);
    const r = await install(["--base-url", release("with-musl", [...ALL, "1.2.3/linux-x64-musl"])], { path });
    expect(r.code).toBe(0);
    expect(installedSays(r.dir)).toBe("ferry 1.2.3 linux-x64-musl");
  });

  test("a checksum mismatch is refused and nothing is installed (an earlier ferry stays as it was)", async () => {
    const url = release("tampered", ALL, { tamper: ["1.2.3/linux-x64"] });
    const fresh = await install(["--base-url", url]);
    expect(fresh.err).toMatch(/checksum mismatch for ferry-1\.2\.3-linux-x64\.tar\.gz: SHA256SUMS says [0-9a-f]{64}, the download is [0-9a-f]{64}; nothing was installed/);
    expectNothingInstalled(fresh);
    const dir = join(work, "has-old-ferry");
    mkdirSync(dir);
    writeFileSync(join(dir, "ferry"), "#!/bin/sh\necho old\n", { mode: 0o755 });
    const over = await install(["--base-url", url], { dir });
    expect(over.code).toBe(1);
    expect(installedSays(dir)).toBe("old");
    expect(readdirSync(dir)).toEqual(["ferry"]);
  });

  test("a missing archive, a release without this platform, or no SHA256SUMS: a clear error", async () => {
    const missing = await install(["--base-url", release("missing", ALL, { drop: ["1.2.3/linux-x64"] })]);
    expect(missing.err).toContain(`cannot download ${base}/missing/ferry-1.2.3-linux-x64.tar.gz`);
    expectNothingInstalled(missing);
    const other = await install(["--base-url", release("darwin-only", ["1.2.3/darwin-arm64", "1.2.3/darwin-x64"])]);
    expect(other.err).toContain(
      `error: no archive for linux-x64 at ${base}/darwin-only (its SHA256SUMS lists: ferry-1.2.3-darwin-arm64.tar.gz ferry-1.2.3-darwin-x64.tar.gz)`,
    );
    expectNothingInstalled(other);
    const none = await install(["--base-url", `${base}/no-such-release/`]);
    expect(none.err).toContain(`cannot download ${base}/no-such-release/SHA256SUMS`);
    expectNothingInstalled(none);
  });

  test("--version picks a release from a folder holding several; without it several versions are refused", async () => {
    const url = release("versions", ["1.2.3/linux-x64", "1.3.0/linux-x64", "1.3.0/darwin-arm64"]);
    const several = await install(["--base-url", url]);
    expect(several.err).toContain("lists several versions for linux-x64: pass --version (ferry-1.2.3-linux-x64.tar.gz ferry-1.3.0-linux-x64.tar.gz)");
    expectNothingInstalled(several);
    const old = await install(["--base-url", url, "--version", "1.2.3"]);
    expect(old.code).toBe(0);
    expect(installedSays(old.dir)).toBe("ferry 1.2.3 linux-x64");
    const prefixed = await install([`--base-url=${url}`, "--version=v1.3.0"]);
    expect(installedSays(prefixed.dir)).toBe("ferry 1.3.0 linux-x64");
    const absent = await install(["--base-url", url, "--version", "9.9.9"]);
    expect(absent.err).toContain(`no ferry 9.9.9 archive for linux-x64 at ${url}`);
    expectNothingInstalled(absent);
    const bad = await install(["--base-url", url, "--version", "1.2.3;rm"]);
    expect(bad.err).toContain("'1.2.3;rm' is not a version");
    expectNothingInstalled(bad);
  });

  test("settings from the environment; the default folder of a non-root user is ~/.local/bin; a folder on PATH gets no note", async () => {
    const url = release("env", ALL);
    const home = join(work, "user-home");
    const user = shim("user", { s: "Linux", m: "x86_64" }, { id: `[ "$1" = -u ] && echo 1000 && exit 0; exec /usr/bin/id "$@"` });
    const r = await install([], { dir: null, path: `${user}:${SYSTEM_PATH}`, env: { HOME: home, FERRY_INSTALL_BASE_URL: url } });
    expect(r.code).toBe(0);
    expect(installedSays(join(home, ".local/bin"))).toBe("ferry 1.2.3 linux-x64");
    expect(r.err).toContain(`note: ${home}/.local/bin is not on your PATH`);
    const dir = join(work, "on-path");
    const again = await install([], { dir: null, path: `${dir}:${SYSTEM_PATH}`, env: { FERRY_INSTALL_DIR: dir, FERRY_INSTALL_BASE_URL: url, FERRY_INSTALL_VERSION: "1.2.3" } });
    expect(again.code).toBe(0);
    expect(again.err).toBe("");
    expect(installedSays(dir)).toBe("ferry 1.2.3 linux-x64");
  });

  test("the default release address is a placeholder until the project is published: it says to pass --base-url", async () => {
    const r = await install([]);
    expect(r.err).toContain("this install.sh has no release address yet: pass --base-url");
    expectNothingInstalled(r);
  });

  test("with only curl, with only wget, and with neither", async () => {
    const url = release("downloaders", ALL);
    for (const downloader of ["curl", "wget"]) {
      const path = toolbox(`${downloader}-only`, [...BASE_TOOLS, downloader]);
      const before = requests.length;
      const r = await install(["--base-url", url], { path });
      expect({ downloader, code: r.code, err: r.err }).toEqual({ downloader, code: 0, err: expect.stringContaining("is not on your PATH") });
      expect(installedSays(r.dir)).toBe("ferry 1.2.3 linux-x64");
      const agents = requests.slice(before).map((q) => q.agent.split("/")[0]!.toLowerCase());
      expect(agents).toEqual([downloader, downloader]);
    }
    const neither = await install(["--base-url", url], { path: toolbox("no-downloader", BASE_TOOLS) });
    expect(neither.err).toContain("neither curl nor wget is installed");
    expectNothingInstalled(neither);
  });

  test("under busybox sh with only busybox's applets (its wget, sha256sum, tar) on PATH", async () => {
    const url = release("busybox", ALL);
    const dir = join(work, "toolbox", "busybox");
    mkdirSync(dir, { recursive: true });
    const setup = Bun.spawnSync([tools.busybox!, "--install", "-s", dir]);
    if (setup.exitCode !== 0) throw new Error(`busybox --install: ${setup.stderr}`);
    expect(existsSync(join(dir, "curl"))).toBe(false);
    const before = requests.length;
    const r = await install(["--base-url", url], { shell: [tools.busybox!, "sh"], path: dir });
    expect(r.err).not.toContain("error");
    expect(r.code).toBe(0);
    expect(installedSays(r.dir)).toBe("ferry 1.2.3 linux-x64");
    expect(requests.slice(before).map((q) => q.agent)).toEqual(["Wget", "Wget"]);
    // A mismatch is caught by busybox's sha256sum too.
    const bad = await install(["--base-url", release("busybox-tampered", ALL, { tamper: ["1.2.3/linux-x64"] })], { shell: [tools.busybox!, "sh"], path: dir });
    expect(bad.err).toContain("checksum mismatch");
    expectNothingInstalled(bad);
  });

  test(
    "the real release (scripts/release.ts, dist/release): the linux-x64 archive installs and its ferry answers a query",
    async () => {
      await releaseArchives(["linux-x64"]); // built when missing or older than the sources
      const cache = join(work, "real-cache");
      const r = await install(["--base-url", `${base}/real`], { env: { XDG_CACHE_HOME: cache } });
      expect(r.err).not.toContain("error");
      expect(r.code).toBe(0);
      expect(r.out).toContain(`downloading ${archiveName("linux-x64")} from ${base}/real`);
      expect(r.out).toContain(`checksum ok (sha256 ${readSums().get(archiveName("linux-x64"))})`);
      expect(r.out).toContain(`installed ${r.dir}/ferry (ferry ${VERSION}`);
      const env = { PATH: SYSTEM_PATH, HOME: join(work, "home"), XDG_CACHE_HOME: cache };
      const query = Bun.spawnSync([join(r.dir, "ferry"), "query", "--format", "csv", "select 42 as answer"], { env });
      expect({ out: query.stdout.toString(), err: query.stderr.toString() }).toEqual({ out: "answer\n42\n", err: "" });
    },
    20 * 60_000, // a first release build of linux-x64 when no other test made it
  );
});
