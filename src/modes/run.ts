/** `ferry run`: the HTTP ingress into the embedded orders table and the lake's catalog. No Kafka. */
import { mkdirSync } from "node:fs";
import * as v from "valibot";
import { dataDirField, logLevelField } from "../config/common.ts";
import { duration, int } from "../config/fields.ts";
import { dataPaths } from "../db/duckdb.ts";
import { servedQueries } from "../db/query-service.ts";
import { queryServiceFields, querySettingsOf } from "../config/query.ts";
import { httpFields } from "../http/config.ts";
import { catalogFields, catalogOf } from "../lake/catalog.ts";
import { dataPathOf, lakeFields } from "../lake/data-path.ts";
import { maintainEveryField, maintenanceFields, maintenancePolicyOf } from "../lake/maintenance.ts";
import { lockdownGap } from "../lake/read.ts";
import { ConfigError } from "../errors.ts";
import { serveLocal } from "../platform/local-socket.ts";
import { DEFAULT_DB_MEMORY_MB, type EmbeddedOrderSink, openEmbeddedOrderSink, ROLLUP_FAULT_POINTS } from "../sinks/embedded-orders.ts";
import type { FlushObserver } from "../pipeline/coalescer.ts";
import { serveUntilStopped } from "./http-lifecycle.ts";
import { lakeDependencies } from "../status/collectors/lake.ts";
import { RunRollups, runCollector } from "../status/collectors/run.ts";
import { Dependencies } from "../status/dependencies.ts";
import { fileSizes } from "../status/file-sizes.ts";
import { catalogFileOf } from "../lake/catalog.ts";
import { crashAtSetting } from "../config/crash-at.ts";
import { defineMode } from "./mode.ts";

const CRASH_AT = crashAtSetting(ROLLUP_FAULT_POINTS, "rollup");

export const runMode = defineMode({
  name: "run",
  summary: "HTTP ingress into the embedded orders table and the lake (no Kafka needed)",
  details:
    "POST /orders answers 202 once the orders are committed to <data-dir>/ferry.duckdb (write-ahead\n" +
    "log, then the table `orders`, upsert by order_id). Every accepted record is rolled into the `lake`\n" +
    "table of the lake's catalog (--catalog: <data-dir>/lake.ducklake; its Parquet files in --lake:\n" +
    "<data-dir>/lake, or s3://BUCKET/PREFIX with the AWS_* variables) every --interval and on shutdown,\n" +
    "exactly once. While it runs, `ferry query` and `ferry generate` reach it through <data-dir>/ferry.sock.\n" +
    "Try:  curl -H 'content-type: application/json' -d '{\"order_id\":\"1\",\"product\":\"tea\",\"quantity\":1,\"price\":2.5}' localhost:8080/orders",
  config: v.object({
    ...httpFields,
    interval: v.optional(duration({ doc: "How often accepted records are rolled into the lake.", min: 100 }), 10_000),
    dbMemory: v.optional(
      int({ doc: "Memory DuckDB may use for the orders table, in MiB (it spills table data to disk beyond; upserts into a table of millions of orders need it).", placeholder: "MIB", min: 64 }),
      DEFAULT_DB_MEMORY_MB,
    ),
    crashAt: CRASH_AT.field,
    ...maintainEveryField,
    ...maintenanceFields,
    ...lakeFields,
    ...catalogFields,
    ...queryServiceFields,
    ...dataDirField,
    ...logLevelField,
  }),
  async run(config, ctx) {
    const catalog = catalogOf(config);
    // Without --lake, an existing catalog keeps the data path it records (a new one: <data-dir>/lake).
    const dataPath = config.lake === undefined ? undefined : dataPathOf(config);
    const gap = config.queryAccess === "locked" ? lockdownGap(catalog) : undefined;
    if (gap) throw new ConfigError(`--query-access locked: ${gap}`);
    const fault = CRASH_AT.hook(config.crashAt, ctx.log);
    mkdirSync(config.dataDir, { recursive: true });
    const dependencies = new Dependencies();
    const lake = lakeDependencies(dependencies, catalog.description, config.lake);
    const rollups = new RunRollups();
    const onRollup = (r: { rows: number; ms: number; error?: unknown }) => {
      rollups.note(r);
      if (r.error === undefined) lake.committed();
      else lake.failed(r.error);
    };
    const openSink = (onFlush: FlushObserver) =>
      openEmbeddedOrderSink(
        {
          dataDir: config.dataDir,
          catalog,
          dataPath,
          rollupIntervalMs: config.interval,
          lingerMs: config.linger,
          maxBatchRecords: config.batchRecords,
          onFlush,
          onRollup,
          fault,
          maintenance: config.maintainEvery > 0 ? { policy: maintenancePolicyOf(config), everyMs: config.maintainEvery } : undefined,
          memoryLimitMb: config.dbMemory,
        },
        ctx.log,
      );
    const localSocket = (sink: EmbeddedOrderSink, ingress: (req: Request) => Response | Promise<Response>) =>
      serveLocal(dataPaths(config.dataDir).socket, servedQueries(sink.query, querySettingsOf(config), ctx.log), ctx.log.warn, ingress).stop;
    const paths = dataPaths(config.dataDir);
    const catalogFile = catalogFileOf(catalog);
    const status = {
      dependencies,
      collector: (sink: EmbeddedOrderSink, ingress: Parameters<typeof runCollector>[0]["ingress"]) => {
        lake.catalog.up(); // attached
        return runCollector({
          ingress,
          maxInFlight: config.maxInFlight,
          waiting: () => sink.waiting(),
          journalRows: () => sink.journalRows(),
          walBytes: fileSizes([paths.wal]),
          dbBytes: fileSizes([paths.database, `${paths.database}.wal`, ...(catalogFile ? [catalogFile, `${catalogFile}.wal`] : [])]),
          rollups,
        });
      },
    };
    return serveUntilStopped(config, openSink, ctx, { dataDir: config.dataDir, catalog: catalog.description, lake: dataPath?.url ?? "(the catalog's)" }, localSocket, status);
  },
});
