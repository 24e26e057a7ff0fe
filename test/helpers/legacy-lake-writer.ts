/**
 * Writes a data dir and lake exactly as the previous release (the file-based lake, before the
 * DuckLake catalog) did, by running that release's own code from a git worktree of it:
 *
 *   bun test/helpers/legacy-lake-writer.ts <worktree> <plan.json>
 *
 * A plan (LegacyPlan) is either a sink's (batches through its lake-batches.ts store: lake files,
 * commit markers, ferry.duckdb's ferry_offsets and orders tables; a step may be cut short at one of
 * its fault points, leaving what a kill there leaves) or `ferry run`'s (orders through its
 * embedded-orders.ts sink: the journal, the keyed table, rollups into the lake; a rollup may be cut
 * short after its files were published, and the process may end without closing, as a kill does).
 * Record values are a function of (seed, topic, partition, offset): see legacyOrder.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface LegacyRange {
  topic: string;
  partition: number;
  first: number;
  last: number;
}

export type LegacySinkStep =
  /** One batch of these ranges; `crash`: the legacy fault point where the process dies (the store is reopened after). */
  | { batch: LegacyRange[]; crash?: "between-files" | "after-rename"; invalid?: boolean }
  /** Deletes a partition's commit markers: a lake written before markers existed. */
  | { dropMarkers: { topic: string; partition: number } };

export type LegacyRunStep =
  | { orders: number }
  | { rollup: true }
  /** A rollup cut short after its files are in the lake, before its rows left the journal. */
  | { rollupCutShort: true }
  /** Waits until what was acknowledged is in DuckDB (the journal). */
  | { applied: true };

export type LegacyPlan =
  | { mode: "sink"; kind?: "orders" | "cars"; dataDir: string; seed: number; steps: LegacySinkStep[]; lake?: string; s3?: { endpoint: string; accessKeyId: string; secretAccessKey: string } }
  | { mode: "run"; dataDir: string; seed: number; steps: LegacyRunStep[]; end: "close" | "kill" };

const DAY_MS = 86_400_000;
const BASE = Date.UTC(2026, 2, 1);

/** The order at a source position: ids repeat (a later offset is a newer version), dates spread over five days. */
export function legacyOrder(seed: number, topic: string, partition: number, offset: number) {
  const k = (offset * 7919 + partition * 104_729 + seed) % 1_000_003;
  return {
    order_id: `o-${topic}-${partition}-${offset % 13}`,
    product: `p-${k % 97}`,
    quantity: 1 + (k % 50),
    price: Number(((k % 100_000) / 100).toFixed(2)),
    ordered_at: new Date(BASE + (k % 5) * DAY_MS + (k % 86_400) * 1000).toISOString(),
  };
}

/** The car at a source position (a `cars` sink's lake). */
export function legacyCar(seed: number, partition: number, offset: number) {
  const k = (offset * 7919 + partition * 104_729 + seed) % 1_000_003;
  return { id: 1 + partition * 1_000_000 + offset, make: `make-${k % 7}`, model: `model-${k % 11}`, year: 1990 + (k % 30) };
}

if (import.meta.main) {
  const [worktree, planFile] = process.argv.slice(2);
  if (!worktree || !planFile) throw new Error("usage: legacy-lake-writer.ts <worktree> <plan.json>");
  const plan = JSON.parse(readFileSync(planFile, "utf8")) as LegacyPlan;
  const mod = (path: string) => import(join(worktree, "src", path));
  const { createLogger } = await mod("log/logger.ts");
  const log = createLogger("warn", (l: string) => process.stderr.write(l));
  if (plan.mode === "sink") await writeSink(plan, mod, log);
  else await writeRun(plan, mod, log);
}

type Import = (path: string) => Promise<any>;

async function writeSink(plan: Extract<LegacyPlan, { mode: "sink" }>, mod: Import, log: unknown): Promise<void> {
  const { openLakeBatchStore } = await mod("sinks/lake-batches.ts");
  const { createDecoder } = await mod("pipeline/decode.ts");
  const { lakeTargetOf } = await mod("sinks/lake-target.ts");
  const kind = plan.kind ?? "orders";
  const decoder = createDecoder(kind);
  class Crash extends Error {}
  let crashAt: string | undefined;
  const lake = plan.lake
    ? lakeTargetOf({ dataDir: plan.dataDir, lake: plan.lake, s3Region: "us-east-1", s3PathStyle: true, s3Endpoint: plan.s3?.endpoint, s3AccessKeyId: plan.s3?.accessKeyId, s3SecretAccessKey: plan.s3?.secretAccessKey })
    : undefined;
  const open = () =>
    openLakeBatchStore(
      {
        dataDir: plan.dataDir,
        lake,
        kind,
        memoryLimitMb: 256,
        threads: 1,
        fault: (point: string) => {
          if (point === crashAt) throw new Crash(point);
        },
      },
      log,
    );
  let store = await open();
  const recovered = new Set<string>();
  let sequence = 0;
  for (const step of plan.steps) {
    if ("dropMarkers" in step) {
      if (plan.lake) throw new Error("dropMarkers: only for a lake in the data dir");
      rmSync(join(plan.dataDir, "lake", "_ferry", "commits", step.dropMarkers.topic, String(step.dropMarkers.partition)), { recursive: true, force: true });
      continue;
    }
    // At (re)assignment, as the sink did: recover the partitions before reading them.
    for (const r of step.batch) {
      const key = `${r.topic}/${r.partition}`;
      if (!recovered.has(key)) await store.recover(r.topic, [r.partition]);
      recovered.add(key);
    }
    const b = decoder.newBatch();
    for (const r of step.batch) {
      const msgs = [];
      for (let o = r.first; o <= r.last; o++) {
        const record = kind === "cars" ? legacyCar(plan.seed, r.partition, o) : legacyOrder(plan.seed, r.topic, r.partition, o);
        const value = step.invalid ? "not json" : JSON.stringify(record);
        msgs.push({ key: null, offset: String(o), timestamp: String(BASE), value: Buffer.from(value) });
      }
      await b.add(r.topic, r.partition, msgs);
    }
    const batch = { ...(await b.finish()), ranges: step.batch.map((r) => ({ topic: r.topic, partition: r.partition, firstOffset: r.first, lastOffset: r.last })), sequence: ++sequence };
    crashAt = step.crash;
    try {
      await store.write(batch);
      if (step.crash) throw new Error(`the batch was to be cut short at ${step.crash}`);
    } catch (e) {
      if (!(e instanceof Crash)) throw e;
      await store.close();
      crashAt = undefined;
      store = await open();
      recovered.clear();
    }
  }
  await store.close();
}

async function writeRun(plan: Extract<LegacyPlan, { mode: "run" }>, mod: Import, log: unknown): Promise<void> {
  const { openEmbeddedOrderSink } = await mod("sinks/embedded-orders.ts");
  const { dataDirLake } = await mod("sinks/lake-target.ts");
  const local = dataDirLake(plan.dataDir);
  let cutShort = false;
  const lake = {
    ...local,
    publish: async (...args: unknown[]) => {
      const files = await local.publish(...args);
      if (cutShort) throw new Error("rollup cut short after its files were published");
      return files;
    },
  };
  const sink = await openEmbeddedOrderSink({ dataDir: plan.dataDir, lake, rollupIntervalMs: 3_600_000, lingerMs: 0, maxBatchRecords: 500 }, log);
  let sent = 0;
  for (const step of plan.steps) {
    if ("orders" in step) {
      const orders = Array.from({ length: step.orders }, (_, i) => legacyOrder(plan.seed, "orders", 0, sent + i));
      sent += step.orders;
      await sink.write(orders);
    } else if ("rollup" in step) {
      await sink.rollup();
    } else if ("rollupCutShort" in step) {
      cutShort = true;
      await sink.rollup().then(
        () => {
          throw new Error("the rollup was to be cut short");
        },
        () => {},
      );
      cutShort = false;
    } else {
      // ferry query's path: what was acknowledged is applied first.
      await sink.query("SELECT 1");
    }
  }
  if (plan.end === "close") await sink.close();
  else process.exit(0); // as a kill: nothing closed, nothing flushed
}
