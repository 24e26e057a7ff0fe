/** The record kinds ferry knows, each tied to its one schema. */
import { CarSchema } from "./car.ts";
import { OrderSchema } from "./order.ts";

export const RECORD_KINDS = {
  /** timeField: the column whose UTC day names a row's lake partition (date=…). */
  orders: { schema: OrderSchema, key: "order_id", table: "orders", timeField: "ordered_at" },
  cars: { schema: CarSchema, key: "id", table: "cars", timeField: "ingested_at" },
} as const;

export type RecordKind = keyof typeof RECORD_KINDS;
export const RECORD_KIND_NAMES = Object.keys(RECORD_KINDS) as RecordKind[];
