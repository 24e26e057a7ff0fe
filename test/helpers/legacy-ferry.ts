/**
 * The previous release's code (the file-based lake, before the DuckLake catalog), for tests that
 * check an upgrade: its src/ as of LEGACY_COMMIT, taken from the project's git history (`git
 * archive`: nothing in the repository changes) into a temporary folder that uses this checkout's
 * node_modules; and writeLegacy, which runs a plan through it (legacy-lake-writer.ts) in a process
 * of its own.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { LegacyPlan } from "./legacy-lake-writer.ts";

/** The last commit of the file-based lake (before issue #20's catalog). */
export const LEGACY_COMMIT = "3e4592eb6ac461b12e482fd20cd5fea1dff799e4";

const repo = resolve(import.meta.dir, "../..");

/** The previous release's src/ in a temporary folder, or why it cannot be had (no git history here). */
export function legacyFerry(): { dir: string; remove(): void } | { skip: string } {
  try {
    execFileSync("git", ["-C", repo, "cat-file", "-e", `${LEGACY_COMMIT}^{commit}`], { stdio: "pipe" });
  } catch (e) {
    return { skip: `the previous release's commit ${LEGACY_COMMIT.slice(0, 7)} is not in this checkout's git history (a shallow clone or no .git): ${String(e).split("\n")[0]}` };
  }
  const dir = mkdtempSync(join(tmpdir(), "ferry-legacy-"));
  try {
    execFileSync("bash", ["-c", `git -C "$1" archive "$2" src | tar -x -C "$3"`, "_", repo, LEGACY_COMMIT, dir], { stdio: "pipe" });
    symlinkSync(join(repo, "node_modules"), join(dir, "node_modules"));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `cannot extract the previous release's src/ from git: ${String(e).split("\n")[0]}` };
  }
  if (!existsSync(join(dir, "src/sinks/lake-batches.ts"))) return { skip: "the previous release's src/sinks/lake-batches.ts is missing from the archive" };
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a plan with the previous release's code (a process of its own); throws with its output if it fails. */
export function writeLegacy(legacyDir: string, plan: LegacyPlan): void {
  const file = join(plan.dataDir, "..", `legacy-plan-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(plan));
  try {
    const r = spawnSync(process.execPath, [join(import.meta.dir, "legacy-lake-writer.ts"), legacyDir, file], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`the previous release's writer failed (exit ${r.status}, signal ${r.signal}):\n${r.stderr}\n${r.stdout}`);
  } finally {
    rmSync(file, { force: true });
  }
}
