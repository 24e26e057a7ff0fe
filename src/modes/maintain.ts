/** `ferry maintain`: one maintenance run over the lake's catalog, on demand (src/lake/maintenance.ts). */
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import * as v from "valibot";
import { dataDirField, logLevelField } from "../config/common.ts";
import { formatDuration } from "../config/load.ts";
import { type Db, openDb } from "../db/duckdb.ts";
import { DownstreamError, errorMessage } from "../errors.ts";
import { attachCatalog, type Catalog, catalogFields, catalogOf } from "../lake/catalog.ts";
import { dataPathOf, lakeFields } from "../lake/data-path.ts";
import { type LakeFile, lakeFiles, lakeTables, maintain, type MaintenanceReport, maintenanceFields, maintenancePolicyOf } from "../lake/maintenance.ts";
import { defineMode } from "./mode.ts";

export const maintainMode = defineMode({
  name: "maintain",
  summary: "Maintain the lake once: flush small writes into files, merge small files, expire old snapshots, delete unused files",
  details:
    "Runs the maintenance a sink runs on its schedule, now: inlined rows (small batches kept in the\n" +
    "catalog) are all written into Parquet files; a partition's small files are merged (in tiers of size,\n" +
    "up to 512 MiB); snapshots older than --snapshot-retention are expired (time travel reaches back\n" +
    "that far); files no snapshot references any more, and files of batches that never committed, are\n" +
    "deleted once older than --file-grace. Prints what it did, per table and partition. One member at a\n" +
    "time: if another is maintaining the lake right now, nothing is done. A DuckDB-file catalog (the\n" +
    "default) is held by the sink that writes it: that sink maintains the lake itself; stop it first to\n" +
    "run this.",
  config: v.object({
    ...catalogFields,
    ...lakeFields,
    ...maintenanceFields,
    ...dataDirField,
    ...logLevelField,
  }),
  async run(config, ctx) {
    const catalog = catalogOf(config);
    const dataPath = dataPathOf(config);
    if (catalog.kind !== "postgres") {
      const file = catalog.description.replace(/^sqlite:/, "");
      if (!existsSync(file)) throw new DownstreamError("catalog", `no lake catalog at ${file}: nothing to maintain (give --catalog, or the --data-dir a sink writes)`);
    }
    const db = await openDb(":memory:");
    try {
      await attach(db, catalog, dataPath);
      // Asked for now: every inlined row goes into files, however few (a reader of raw Parquet files sees them all).
      const policy = { ...maintenancePolicyOf(config), flushRows: 1 };
      const tables = await lakeTables(db);
      const before = await lakeFiles(db, tables);
      const report = await maintain(db, policy, { member: `ferry maintain on ${hostname()} (pid ${process.pid})`, dataPath }, ctx.log);
      const after = report.ran ? await lakeFiles(db, tables) : before;
      ctx.out(describe(catalog, report, before, after, config.snapshotRetention, config.fileGrace));
      return report.failed.length ? 1 : 0;
    } finally {
      db.close();
    }
  },
});

async function attach(db: Db, catalog: Catalog, dataPath: ReturnType<typeof dataPathOf>): Promise<void> {
  try {
    await attachCatalog(db, catalog, dataPath);
  } catch (e) {
    if (catalog.kind === "duckdb" && /Could not set lock|Conflicting lock/i.test(errorMessage(e))) {
      const pid = /\(PID (\d+)\)/.exec(errorMessage(e))?.[1];
      throw new DownstreamError(
        "catalog",
        `the catalog ${catalog.description} is held by a running process${pid ? ` (pid ${pid})` : ""}: a DuckDB-file catalog is open in one process at a time. A sink holding it maintains the lake itself on its schedule; to maintain it now, stop that process first (or use a SQLite or PostgreSQL catalog, which several processes share)`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** What a run did, for a person: totals, then files per table and partition before → after. */
export function describe(catalog: Catalog, r: MaintenanceReport, before: readonly LakeFile[], after: readonly LakeFile[], retentionMs: number, graceMs: number): string {
  if (!r.ran) return `nothing done: ${r.skipped}\n`;
  const lines = [
    `lake maintained in ${r.ms} ms (catalog ${catalog.description})`,
    `  files: ${r.before.files} → ${r.after.files} (${bytes(r.before.bytes)} → ${bytes(r.after.bytes)}); rows inlined in the catalog: ${r.before.inlinedRows} → ${r.after.inlinedRows} (${r.flushedRows} written into files)`,
    `  merged: ${r.merged.files} files into ${r.merged.into}`,
    `  snapshots expired (older than ${formatDuration(retentionMs)}): ${r.snapshotsExpired}`,
    `  files deleted (older than ${formatDuration(graceMs)}): ${r.filesDeleted} no longer referenced, ${r.orphansDeleted} of batches that never committed`,
  ];
  if (r.foreignFiles) lines.push(`  left alone: ${r.foreignFiles} Parquet files under the data path that are neither the catalog's nor DuckLake's (a previous release's lake not yet adopted?)`);
  const key = (f: LakeFile) => `${f.table}${f.partition ? ` ${f.partition}` : ""}`;
  const tally = (files: readonly LakeFile[]) => files.reduce((m, f) => m.set(key(f), (m.get(key(f)) ?? 0) + 1), new Map<string, number>());
  const was = tally(before);
  const now = tally(after);
  const keys = [...new Set([...was.keys(), ...now.keys()])].sort();
  if (keys.length) lines.push("  files per table and partition:", ...keys.map((k) => `    ${k}: ${was.get(k) ?? 0} → ${now.get(k) ?? 0}`));
  for (const f of r.failed) lines.push(`  failed: ${f.step}: ${f.error}`);
  return `${lines.join("\n")}\n`;
}

const bytes = (n: number) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
