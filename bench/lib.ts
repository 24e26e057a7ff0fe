/**
 * Benchmark runner convention: each bench/<name>.ts prints its figures as it goes and ends by
 * writing bench/results/<name>.json via `writeResult` (figures, environment, time of the run).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { silenceRuntimeWarnings } from "../src/kafka/kafkajs/negative-timeouts.ts";

// kafkajs's negative timer delays (see silenceRuntimeWarnings) must not clutter the figures.
silenceRuntimeWarnings();

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

export function writeResult(name: string, figures: Record<string, unknown>): string {
  const dir = join(import.meta.dir, "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const result = {
    bench: name,
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memory_gib: round(totalmem() / 2 ** 30) },
    bun: Bun.version,
    figures,
  };
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${file}`);
  return file;
}

export const ROOT = resolve(import.meta.dir, "..");
/** The product under test. */
export const FERRY_BIN = join(ROOT, "dist/ferry");
export const BROKERS = "127.0.0.1:9092";
const KAFKA_SCRIPT = join(ROOT, "scripts/services/kafka");

/** Runs a command to its end; throws with its stderr when it fails. */
export function run(cmd: string[], opts: { env?: Record<string, string> } = {}): { stdout: string; stderr: string } {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...opts.env } });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${p.stderr}`);
  return { stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

/** Runs a command to its end and answers its stdout. */
export const sh = (cmd: string[], opts: { env?: Record<string, string> } = {}) => run(cmd, opts).stdout;

/** Runs one of Kafka's own tools (perf tests, topic command) from the fetched classpath. */
export const kafkaTool = (mainClass: string, args: string[]) => sh(["bash", KAFKA_SCRIPT, "tool", mainClass, ...args]);

/** Creates a topic with Kafka's own TopicCommand. */
export const createTopic = (topic: string, partitions: number) =>
  kafkaTool("org.apache.kafka.tools.TopicCommand", ["--bootstrap-server", BROKERS, "--create", "--topic", topic, "--partitions", String(partitions), "--replication-factor", "1"]);

/** Starts a service of scripts/services unless it already runs; answers how to stop it again (only if it was started here). */
export function ensureService(name: "kafka" | "cassandra" | "s3proxy" | "postgres"): () => void {
  const script = join(ROOT, "scripts/services", name);
  const wasUp = Bun.spawnSync(["bash", script, "status"]).exitCode === 0;
  if (!wasUp) sh(["bash", script, "start"]);
  return () => {
    if (!wasUp) sh(["bash", script, "stop"]);
  };
}

export const ensureKafka = () => ensureService("kafka");

/**
 * Builds ferry as of a commit of this repository into `dir` (an empty folder): the commit's files
 * (git archive: no worktree, no lock), this checkout's node_modules linked entry by entry but for
 * .cache (the build writes its files there: a link would overwrite this checkout's), the fetched
 * DuckDB extensions and bindings and the compressed packs hard-linked (the build replaces a file by
 * renaming, never writes into one).
 * Answers the binary and the full commit id.
 */
export function buildAt(rev: string, dir: string): { bin: string; commit: string } {
  const commit = sh(["git", "-C", ROOT, "rev-parse", "--verify", `${rev}^{commit}`]).trim();
  sh(["bash", "-c", 'git -C "$1" archive "$2" | tar -x -C "$3"', "-", ROOT, commit, dir]);
  const modules = join(dir, "node_modules");
  mkdirSync(join(modules, ".cache"), { recursive: true });
  for (const entry of readdirSync(join(ROOT, "node_modules"))) if (entry !== ".cache") symlinkSync(join(ROOT, "node_modules", entry), join(modules, entry));
  // What builds fetch and compress, keyed by content: the DuckDB extensions, other platforms' bindings, zstd packs.
  for (const cached of ["ferry-duckdb-extensions", "ferry-duckdb-bindings", "ferry-build/packs"]) {
    const from = join(ROOT, "node_modules/.cache", cached);
    if (!existsSync(from)) continue;
    mkdirSync(join(modules, ".cache", cached, ".."), { recursive: true });
    try {
      sh(["cp", "-al", from, join(modules, ".cache", cached)]);
    } catch {
      cpSync(from, join(modules, ".cache", cached), { recursive: true }); // another file system
    }
  }
  run(["bash", "-c", 'cd "$1" && node_modules/.bin/bun scripts/build.ts', "-", dir]);
  return { bin: join(dir, "dist/ferry"), commit };
}

/** The machine's busy CPU time so far, all cores (not idle, not waiting for I/O), in seconds. */
export function machineBusySeconds(): number {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / 100; // USER_HZ
}

/**
 * Other people's jobs share this machine: waits (up to `maxSeconds`) until it is quiet — less than
 * `cores` of CPU busy over a second — so a run measures itself. Answers the busy cores last seen.
 */
export async function waitForQuiet(maxSeconds = 180, cores = 0.35): Promise<number> {
  const started = performance.now();
  let said = false;
  for (;;) {
    const b0 = machineBusySeconds();
    await Bun.sleep(1000);
    const busy = machineBusySeconds() - b0;
    if (busy < cores) return busy;
    if ((performance.now() - started) / 1000 > maxSeconds) {
      console.log(`  (the machine stayed busy: ${round(busy, 2)} cores used by others; measuring anyway)`);
      return busy;
    }
    if (!said) console.log(`  (waiting for the machine to be quiet: ${round(busy, 2)} cores busy)`);
    said = true;
  }
}
