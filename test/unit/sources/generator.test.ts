/** The generator: seeded, byte-for-byte repeatable, realistic and valid unless asked otherwise. */
import { describe, expect, test } from "bun:test";
import { createDecoder } from "../../../src/pipeline/decode.ts";
import { createGenerator } from "../../../src/sources/generator.ts";

const take = (n: number, opts: Parameters<typeof createGenerator>[0]) => {
  const g = createGenerator(opts);
  return Array.from({ length: n }, () => g.next());
};
const isValid = (kind: "orders" | "cars", json: string) => createDecoder(kind).decodeValue({ key: null, value: Buffer.from(json), offset: "0", timestamp: "0" }).ok;

describe("generator", () => {
  test("the same seed gives the same records, byte for byte; another seed others", () => {
    const a = take(500, { kind: "orders", seed: 42, invalidRatio: 0.1 });
    const b = take(500, { kind: "orders", seed: 42, invalidRatio: 0.1 });
    const c = take(500, { kind: "orders", seed: 43, invalidRatio: 0.1 });
    expect(a.map((r) => r.json).join("\n")).toBe(b.map((r) => r.json).join("\n"));
    expect(c.map((r) => r.json).join("\n")).not.toBe(a.map((r) => r.json).join("\n"));
  });

  test("orders are valid, unique, realistic (prices with 2 decimals, known products)", () => {
    const rs = take(5000, { kind: "orders", seed: 1, invalidRatio: 0 });
    expect(rs.every((r) => r.valid && isValid("orders", r.json))).toBe(true);
    const orders = rs.map((r) => JSON.parse(r.json));
    expect(new Set(orders.map((o) => o.order_id)).size).toBe(5000);
    expect(rs.every((r, i) => r.key === orders[i].order_id)).toBe(true);
    expect(new Set(orders.map((o) => o.product)).size).toBeGreaterThan(10);
    expect(orders.every((o) => Math.round(o.price * 100) / 100 === o.price && o.price > 0)).toBe(true);
  });

  test("cars are valid with plausible years for their model", () => {
    const cars = take(2000, { kind: "cars", seed: 9, invalidRatio: 0 }).map((r) => JSON.parse(r.json));
    expect(cars.every((c) => isValid("cars", JSON.stringify(c)))).toBe(true);
    expect(cars.filter((c) => c.model === "Model T").every((c) => c.year >= 1908 && c.year <= 1927)).toBe(true);
    expect(cars.map((c) => c.id)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
  });

  test("--invalid-ratio: about that share, each one really invalid", () => {
    for (const kind of ["orders", "cars"] as const) {
      const rs = take(5000, { kind, seed: 3, invalidRatio: 0.2 });
      const bad = rs.filter((r) => !r.valid);
      expect(bad.length / rs.length).toBeGreaterThan(0.17);
      expect(bad.length / rs.length).toBeLessThan(0.23);
      expect(bad.every((r) => !isValid(kind, r.json))).toBe(true);
      expect(rs.filter((r) => r.valid).every((r) => isValid(kind, r.json))).toBe(true);
    }
  });
});
