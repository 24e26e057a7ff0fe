/** The JSON Schema and the SQL DDL are derived from the valibot schemas, not written by hand. */
import { describe, expect, test } from "bun:test";
import { CarSchema } from "../../../src/schema/car.ts";
import { columnsOf } from "../../../src/schema/ddl.ts";
import { jsonSchemaOf } from "../../../src/schema/json-schema.ts";
import { OrderSchema } from "../../../src/schema/order.ts";
import { ORDERS_TABLE_DDL, OFFSETS_TABLE_DDL, LINEAGE_COLUMNS } from "../../../src/schema/orders-table.ts";
import { openDb } from "../../../src/db/duckdb.ts";

describe("JSON Schema", () => {
  test("Order", () => {
    const s = jsonSchemaOf(OrderSchema) as any;
    expect(s.type).toBe("object");
    expect(s.additionalProperties).toBe(false);
    expect(s.required).toEqual(["order_id", "product", "quantity", "price"]);
    expect(s.properties.order_id).toMatchObject({ type: "string", minLength: 1, maxLength: 64 });
    expect(s.properties.quantity).toMatchObject({ type: "integer", minimum: 1, maximum: 1_000_000 });
    expect(s.properties.price).toMatchObject({ type: "number", minimum: 0, multipleOf: 0.01 });
    expect(s.properties.ordered_at).toMatchObject({ type: "string", format: "date-time" });
    expect(JSON.stringify(s)).not.toContain('"sql"');
  });

  test("Car", () => {
    const s = jsonSchemaOf(CarSchema) as any;
    expect(s.required).toEqual(["id", "make", "model", "year"]);
    expect(s.properties.id).toMatchObject({ type: "integer", minimum: 1 });
    expect(s.properties.year).toMatchObject({ type: "integer", minimum: 1886 });
  });
});

describe("orders table DDL", () => {
  test("has every Order field, in order, then lineage", () => {
    expect(columnsOf(OrderSchema).map((c) => c.name)).toEqual(Object.keys((jsonSchemaOf(OrderSchema) as any).properties));
  });

  test("DuckDB creates it with the contract's types", async () => {
    const db = await openDb(":memory:");
    try {
      await db.exec(ORDERS_TABLE_DDL);
      await db.exec(OFFSETS_TABLE_DDL);
      const r = await db.query("select column_name, data_type, is_nullable from information_schema.columns where table_name = 'orders' order by ordinal_position");
      expect(r.rows).toEqual([
        ["order_id", "VARCHAR", "NO"],
        ["product", "VARCHAR", "NO"],
        ["quantity", "INTEGER", "NO"],
        ["price", "DECIMAL(12,2)", "NO"],
        ["customer_id", "VARCHAR", "YES"],
        ["ordered_at", "TIMESTAMP WITH TIME ZONE", "NO"],
        ...LINEAGE_COLUMNS.map((c) => [c.name, c.sql.replace(" NOT NULL", "").replace("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"), "NO"]),
      ]);
      const pk = await db.query("select constraint_type from information_schema.table_constraints where table_name = 'orders'");
      expect(pk.rows.flat()).toContain("PRIMARY KEY");
    } finally {
      db.close();
    }
  });
});
