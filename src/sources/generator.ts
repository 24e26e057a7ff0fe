/**
 * Seeded random records: the same seed gives the same records, byte for byte. Orders carry no
 * ordered_at (it is filled with the time they are received, as for any client), so the output
 * does not depend on the clock. A share of deliberately invalid records exercises validation
 * and the dead-letter topic; each one breaks exactly one rule.
 */
import type { RecordKind } from "../schema/kinds.ts";
import { lastCarYear } from "../schema/car.ts";

/** sfc32: a small, fast, well-distributed PRNG with a 128-bit state. */
export function createRandom(seed: number) {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}
export type Random = ReturnType<typeof createRandom>;

const PRODUCTS: readonly [string, number][] = [
  ["Arabica coffee beans 1kg", 18.9], ["Green tea 100 bags", 6.49], ["Espresso machine", 249.0], ["Milk frother", 39.95],
  ["Ceramic mug", 9.5], ["Paper filters x100", 3.2], ["Burr grinder", 89.0], ["Oat milk 1l", 2.29], ["Dark chocolate 100g", 2.99],
  ["Croissant", 1.8], ["Sourdough loaf", 4.6], ["Honey 500g", 7.45], ["French press", 29.99], ["Travel tumbler", 22.0],
  ["Kettle, gooseneck", 59.0], ["Descaler", 8.75], ["Cold brew kit", 34.5], ["Chai latte mix", 5.95], ["Biscotti box", 6.2],
  ["Gift card", 25.0],
];

const CARS: readonly [string, string, number, number][] = [
  ["Toyota", "Corolla", 1966, 0], ["Toyota", "RAV4", 1994, 0], ["Volkswagen", "Golf", 1974, 0], ["Volkswagen", "Beetle", 1938, 2019],
  ["Ford", "Model T", 1908, 1927], ["Ford", "Mustang", 1964, 0], ["Ford", "F-150", 1975, 0], ["Honda", "Civic", 1972, 0],
  ["Honda", "Accord", 1976, 0], ["BMW", "3 Series", 1975, 0], ["Mercedes-Benz", "E-Class", 1993, 0], ["Volvo", "240", 1974, 1993],
  ["Volvo", "XC90", 2002, 0], ["Fiat", "500", 1957, 0], ["Renault", "Clio", 1990, 0], ["Peugeot", "208", 2012, 0],
  ["Tesla", "Model 3", 2017, 0], ["Tesla", "Model Y", 2020, 0], ["Subaru", "Outback", 1994, 0], ["Mazda", "MX-5", 1989, 0],
  ["Citroën", "2CV", 1948, 1990], ["Škoda", "Octavia", 1996, 0], ["Kia", "Sportage", 1993, 0], ["Hyundai", "Ioniq 5", 2021, 0],
];

/** Each invalid record breaks one rule; the cycle goes through all of them. */
const BAD_ORDERS: ((o: Record<string, unknown>) => unknown)[] = [
  (o) => ({ ...o, price: -Number(o.price) - 1 }),
  (o) => ({ ...o, quantity: 0 }),
  (o) => ({ ...o, price: Number(o.price) + 0.001 }),
  (o) => ({ ...o, coupon: "FREE" }),
  ({ product: _, ...o }) => o,
  (o) => ({ ...o, ordered_at: "yesterday" }),
];
const BAD_CARS: ((c: Record<string, unknown>) => unknown)[] = [
  (c) => ({ ...c, year: 1800 }),
  (c) => ({ ...c, id: -Number(c.id) }),
  ({ make: _, ...c }) => c,
  (c) => ({ ...c, colour: "red" }),
];

export interface GeneratorOptions {
  kind: RecordKind;
  seed: number;
  /** Share (0..1) of deliberately invalid records. */
  invalidRatio: number;
}

export interface Generated {
  /** The record as JSON text (an invalid one may not even be JSON-shaped like a record). */
  json: string;
  /** The Kafka key: order_id or car id. */
  key: string;
  valid: boolean;
}

export function createGenerator(opts: GeneratorOptions) {
  const rnd = createRandom(opts.seed);
  let n = 0;
  const prefix = `o${opts.seed.toString(36)}`;

  function order(): Record<string, unknown> {
    const [product, base] = rnd.pick(PRODUCTS);
    const quantity = rnd.next() < 0.7 ? rnd.int(1, 3) : rnd.int(4, 50);
    // Prices drift ±15% around the list price, always 2 decimals.
    const price = Math.round(base * (0.85 + rnd.next() * 0.3) * 100) / 100;
    const o: Record<string, unknown> = { order_id: `${prefix}-${n}`, product, quantity, price };
    if (rnd.next() < 0.9) o.customer_id = `cust-${String(rnd.int(1, 20_000)).padStart(5, "0")}`;
    return o;
  }

  function car(): Record<string, unknown> {
    const [make, model, from, until] = rnd.pick(CARS);
    const last = until || lastCarYear();
    return { id: n + 1, make, model, year: rnd.int(from, last) };
  }

  return {
    /** The next record. */
    next(): Generated {
      const record = opts.kind === "orders" ? order() : car();
      const key = String(opts.kind === "orders" ? record.order_id : record.id);
      const bad = opts.invalidRatio > 0 && rnd.next() < opts.invalidRatio;
      n++;
      if (!bad) return { json: JSON.stringify(record), key, valid: true };
      const breakers = opts.kind === "orders" ? BAD_ORDERS : BAD_CARS;
      return { json: JSON.stringify(breakers[n % breakers.length]!(record)), key, valid: false };
    },
    get count() {
      return n;
    },
  };
}
