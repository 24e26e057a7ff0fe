/** `ferry run`: the HTTP ingress into the embedded orders table and Parquet lake. No Kafka. */
import * as v from "valibot";
import { dataDirField, logLevelField } from "../config/common.ts";
import { duration } from "../config/fields.ts";
import { dataPaths } from "../db/duckdb.ts";
import { servedQueries } from "../db/query-service.ts";
import { queryServiceFields, querySettingsOf } from "../config/query.ts";
import { httpFields } from "../http/config.ts";
import { serveLocal } from "../platform/local-socket.ts";
import { type EmbeddedOrderSink, openEmbeddedOrderSink } from "../sinks/embedded-orders.ts";
import type { FlushObserver } from "../pipeline/coalescer.ts";
import { serveUntilStopped } from "./http-lifecycle.ts";
import { lakeFields, lakeTargetOf } from "../sinks/lake-target.ts";
import { defineMode } from "./mode.ts";

export const runMode = defineMode({
  name: "run",
  summary: "HTTP ingress into the embedded orders table and Parquet lake (no Kafka needed)",
  details:
    "POST /orders answers 202 once the orders are committed to <data-dir>/ferry.duckdb (upsert by\n" +
    "order_id). Every accepted record is rolled into the lake, orders/date=…/ (--lake: <data-dir>/lake, or\n" +
    "s3://BUCKET/PREFIX with the AWS_* variables), every --interval\n" +
    "and on shutdown. While it runs, `ferry query` and `ferry generate` reach it through <data-dir>/ferry.sock.\n" +
    "Try:  curl -H 'content-type: application/json' -d '{\"order_id\":\"1\",\"product\":\"tea\",\"quantity\":1,\"price\":2.5}' localhost:8080/orders",
  config: v.object({
    ...httpFields,
    interval: v.optional(duration({ doc: "How often accepted records are rolled into the Parquet lake.", min: 100 }), 10_000),
    ...lakeFields,
    ...queryServiceFields,
    ...dataDirField,
    ...logLevelField,
  }),
  async run(config, ctx) {
    const openSink = (onFlush: FlushObserver) =>
      openEmbeddedOrderSink(
        { dataDir: config.dataDir, lake: lakeTargetOf(config), rollupIntervalMs: config.interval, lingerMs: config.linger, maxBatchRecords: config.batchRecords, onFlush },
        ctx.log,
      );
    const localSocket = (sink: EmbeddedOrderSink, ingress: (req: Request) => Response | Promise<Response>) =>
      serveLocal(dataPaths(config.dataDir).socket, servedQueries(sink.query, querySettingsOf(config), ctx.log), ingress).stop;
    return serveUntilStopped(config, openSink, ctx, { dataDir: config.dataDir }, localSocket);
  },
});

