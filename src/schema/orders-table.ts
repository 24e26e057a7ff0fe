/** The `orders` table and the `ferry_offsets` table: the Order columns plus lineage. */
import { type Column, createTableSql } from "./ddl.ts";
import { OrderSchema } from "./order.ts";

export const LINEAGE_COLUMNS: Column[] = [
  { name: "kafka_topic", sql: "VARCHAR NOT NULL" },
  { name: "kafka_partition", sql: "INTEGER NOT NULL" },
  { name: "kafka_offset", sql: "BIGINT NOT NULL" },
  { name: "ingested_at", sql: "TIMESTAMPTZ NOT NULL" },
];

export const ORDERS_TABLE_DDL = createTableSql("orders", OrderSchema, LINEAGE_COLUMNS);

export const OFFSETS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS ferry_offsets (
  "topic" VARCHAR NOT NULL,
  "partition" INTEGER NOT NULL,
  next_offset BIGINT NOT NULL,
  PRIMARY KEY ("topic", "partition")
)`;
