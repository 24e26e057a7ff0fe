/** The record kinds ferry knows, each tied to its one schema. */
import { CarSchema } from "./car.ts";
import { OrderSchema } from "./order.ts";

export const RECORD_KINDS = {
  orders: { schema: OrderSchema, key: "order_id", table: "orders" },
  cars: { schema: CarSchema, key: "id", table: "cars" },
} as const;

export type RecordKind = keyof typeof RECORD_KINDS;
export const RECORD_KIND_NAMES = Object.keys(RECORD_KINDS) as RecordKind[];
