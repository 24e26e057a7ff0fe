import { describe, expect, test } from "bun:test";
import { OrderSchema, withReceiveTime } from "../../../src/schema/order.ts";
import { validateRecord, formatIssue } from "../../../src/schema/issues.ts";

const valid = { order_id: "o-1", product: "Coffee beans", quantity: 2, price: 12.5 };
const check = (input: unknown) => validateRecord(OrderSchema, input, 7);
const messages = (input: unknown) => {
  const r = check(input);
  if (r.ok) throw new Error("expected invalid");
  return r.issues.map((i) => `${i.path}: ${i.message}`);
};

describe("Order schema", () => {
  test("a minimal order is valid and keeps its values", () => {
    expect(check(valid)).toEqual({ ok: true, value: valid });
  });

  test("every optional field accepted at its bounds", () => {
    const full = { ...valid, order_id: "x".repeat(64), product: "p".repeat(200), quantity: 1_000_000, price: 0, customer_id: "c".repeat(64), ordered_at: "2026-03-01T10:11:12.123+01:00" };
    expect(check(full).ok).toBe(true);
    expect(check({ ...valid, quantity: 1 }).ok).toBe(true);
    expect(check({ ...valid, customer_id: "" }).ok).toBe(true);
    expect(check({ ...valid, ordered_at: "2026-03-01T10:11:12Z" }).ok).toBe(true);
    expect(check({ ...valid, ordered_at: "1900-01-01T00:00:00Z" }).ok).toBe(true);
  });

  test.each([
    [{ ...valid, order_id: "" }, "order_id: must not be empty"],
    [{ ...valid, order_id: "x".repeat(65) }, "order_id: must be at most 64 characters"],
    [{ ...valid, order_id: 5 }, "order_id: must be a string"],
    [{ ...valid, product: "" }, "product: must not be empty"],
    [{ ...valid, product: "p".repeat(201) }, "product: must be at most 200 characters"],
    [{ ...valid, quantity: 0 }, "quantity: must be at least 1"],
    [{ ...valid, quantity: 1_000_001 }, "quantity: must be at most 1000000"],
    [{ ...valid, quantity: 1.5 }, "quantity: must be an integer"],
    [{ ...valid, quantity: "2" }, "quantity: must be a number"],
    [{ ...valid, price: -0.01 }, "price: must not be negative"],
    [{ ...valid, price: 1.005 }, "price: must have at most 2 decimals"],
    [{ ...valid, price: "1.00" }, "price: must be a number"],
    [{ ...valid, customer_id: "c".repeat(65) }, "customer_id: must be at most 64 characters"],
    [{ ...valid, ordered_at: "2026-03-01" }, "ordered_at: must be an RFC 3339 timestamp with a time zone, e.g. 2026-01-31T12:00:00Z"],
    [{ ...valid, ordered_at: "2026-03-01T10:00:00" }, "ordered_at: must be an RFC 3339 timestamp with a time zone, e.g. 2026-01-31T12:00:00Z"],
    [{ ...valid, ordered_at: "2026-02-30T10:00:00Z" }, "ordered_at: must be a real date and time"],
    [{ ...valid, ordered_at: "1500-01-01T00:00:00Z" }, "ordered_at: must not be before 1900-01-01T00:00:00Z (Spark refuses older Parquet timestamps by default)"],
    [{ ...valid, ordered_at: "1900-01-01T00:30:00+01:00" }, "ordered_at: must not be before 1900-01-01T00:00:00Z (Spark refuses older Parquet timestamps by default)"],
    [{ ...valid, note: "hi" }, 'note: unknown field "note" (ferry never drops fields silently)'],
  ])("%o is refused with %s", (input, message) => {
    expect(messages(input)).toEqual([message]);
  });

  test("missing required fields are each named", () => {
    expect(messages({})).toEqual(["order_id: is required", "product: is required", "quantity: is required", "price: is required"]);
  });

  test("a non-object is refused as a whole", () => {
    expect(messages("order")).toEqual([": must be a JSON object, got a string"]);
    expect(messages(null)).toEqual([": must be a JSON object, got null"]);
  });

  test("prices that are binary fractions of cents are still 2 decimals", () => {
    for (const price of [0.07, 0.29, 1.15, 4.35, 19.99, 1234567.89, 9999999999.99]) expect(check({ ...valid, price }).ok).toBe(true);
  });

  test("a price that DECIMAL(12,2) would round is refused: float noise, tiny values", () => {
    for (const price of [0.1 + 0.2, 1.005, 1e-9, 0.001, 5e-324]) expect(check({ ...valid, price }).ok).toBe(false);
  });

  test("strings must be valid Unicode: an unpaired surrogate is named", () => {
    for (const field of ["order_id", "product", "customer_id"]) {
      for (const bad of ["\ud800", "a\udc00", "x\ud83d"]) {
        const r = check({ ...valid, [field]: bad });
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.issues[0]!.message).toMatch(/unpaired surrogate \\u(d800|dc00|d83d) at character/);
      }
      expect(check({ ...valid, [field]: "a😀\u0000\uffff" }).ok).toBe(true);
    }
  });

  test("timestamps: four-digit UTC years and microseconds at most", () => {
    const at = (ordered_at: string) => check({ ...valid, ordered_at }).ok;
    expect(at("9999-12-31T23:59:59Z")).toBe(true);
    expect(at("9999-12-31T23:59:59-23:59")).toBe(false); // 10000-01-01 in UTC
    expect(at("9999-12-31T23:59:59.999999Z")).toBe(true);
    expect(at("2026-01-01T00:00:00.123456Z")).toBe(true);
    expect(at("2026-01-01T00:00:00.123456000Z")).toBe(true); // the same instant
    expect(at("2026-01-01T00:00:00.1234567Z")).toBe(false);
    expect(at("1900-01-01T00:00:00+00:01")).toBe(false); // 1899 in UTC
  });

  test("issues carry the record index and format to one line", () => {
    const r = check({ ...valid, price: -1 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(formatIssue(r.issues[0]!)).toBe("record 7, field price: must not be negative");
  });

  test("ordered_at defaults to the receive time, and is kept when given", () => {
    const at = new Date("2026-05-05T05:05:05.000Z");
    expect(withReceiveTime(valid, at).ordered_at).toBe("2026-05-05T05:05:05.000Z");
    expect(withReceiveTime({ ...valid, ordered_at: "2026-01-01T00:00:00Z" }, at).ordered_at).toBe("2026-01-01T00:00:00Z");
  });
});
