/**
 * The one definition of an order. The TypeScript type, the JSON Schema (HTTP API, registry)
 * and the SQL DDL of the `orders` table are all derived from this schema.
 */
import * as v from "valibot";
import { EARLIEST_TIMESTAMP, END_OF_TIMESTAMPS, fitsMicroseconds, hasAtMostTwoDecimals, isBefore10000, isNotBefore1900, isRealTimestamp, objectMessage, validUnicode } from "./rules.ts";

export const ORDER_ID_MAX = 64;

export const OrderSchema = v.pipe(
  v.strictObject(
    {
      order_id: v.pipe(
        v.string("must be a string"),
        v.minLength(1, "must not be empty"),
        v.maxLength(ORDER_ID_MAX, `must be at most ${ORDER_ID_MAX} characters`),
        validUnicode,
        v.description("Unique id of the order; the Kafka key and the upsert key of the orders table."),
        v.metadata({ sql: "VARCHAR PRIMARY KEY" }),
      ),
      product: v.pipe(
        v.string("must be a string"),
        v.minLength(1, "must not be empty"),
        v.maxLength(200, "must be at most 200 characters"),
        validUnicode,
        v.description("Product name."),
        v.metadata({ sql: "VARCHAR NOT NULL" }),
      ),
      quantity: v.pipe(
        v.number("must be a number"),
        v.integer("must be an integer"),
        v.minValue(1, "must be at least 1"),
        v.maxValue(1_000_000, "must be at most 1000000"),
        v.description("Number of items, 1 to 1,000,000."),
        v.metadata({ sql: "INTEGER NOT NULL" }),
      ),
      price: v.pipe(
        v.number("must be a number"),
        v.minValue(0, "must not be negative"),
        v.maxValue(9_999_999_999.99, "must be below 10000000000"),
        v.check(hasAtMostTwoDecimals, "must have at most 2 decimals"),
        v.description("Price, at most 2 decimals."),
        v.metadata({ multipleOf: 0.01, sql: "DECIMAL(12,2) NOT NULL" }),
      ),
      customer_id: v.optional(
        v.pipe(
          v.string("must be a string"),
          v.maxLength(64, "must be at most 64 characters"),
          validUnicode,
          v.description("Optional customer id."),
          v.metadata({ sql: "VARCHAR" }),
        ),
      ),
      ordered_at: v.optional(
        v.pipe(
          v.string("must be a string"),
          v.isoTimestamp("must be an RFC 3339 timestamp with a time zone, e.g. 2026-01-31T12:00:00Z"),
          v.check(isRealTimestamp, "must be a real date and time"),
          v.check(isNotBefore1900, `must not be before ${EARLIEST_TIMESTAMP} (Spark refuses older Parquet timestamps by default)`),
          v.check(isBefore10000, `must be before ${END_OF_TIMESTAMPS} in UTC (the lake's dates have four-digit years)`),
          v.check(fitsMicroseconds, "must not have more than 6 digits of a second (the table and the lake hold microseconds)"),
          v.description("RFC 3339 time of the order; defaults to the time ferry received it."),
          v.metadata({ sql: "TIMESTAMPTZ NOT NULL" }),
        ),
      ),
    },
    objectMessage,
  ),
  v.title("Order"),
  v.description("An order record."),
);

/** An order as sent by a client (ordered_at may be missing). */
export type OrderInput = v.InferInput<typeof OrderSchema>;
/** A validated order. */
export type Order = v.InferOutput<typeof OrderSchema>;
/** An order once ferry has received it: ordered_at is always set. */
export type ReceivedOrder = Order & { ordered_at: string };

/** Fills the defaults that depend on when ferry received the record. */
export function withReceiveTime(order: Order, receivedAt: Date): ReceivedOrder {
  return order.ordered_at === undefined ? { ...order, ordered_at: receivedAt.toISOString() } : (order as ReceivedOrder);
}
