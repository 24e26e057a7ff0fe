import { describe, expect, test } from "bun:test";
import { CarSchema, lastCarYear } from "../../../src/schema/car.ts";
import { validateRecord } from "../../../src/schema/issues.ts";

const valid = { id: 1, make: "Volvo", model: "240", year: 1990 };
const messages = (input: unknown) => {
  const r = validateRecord(CarSchema, input, 0);
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
};

describe("Car schema", () => {
  test("valid cars, including the bounds of year", () => {
    expect(messages(valid)).toEqual([]);
    expect(messages({ ...valid, year: 1886 })).toEqual([]);
    expect(messages({ ...valid, year: lastCarYear() })).toEqual([]);
  });

  test.each([
    [{ ...valid, id: 0 }, "id: must be a positive integer"],
    [{ ...valid, id: -3 }, "id: must be a positive integer"],
    [{ ...valid, id: 1.5 }, "id: must be an integer"],
    [{ ...valid, id: "1" }, "id: must be a number"],
    [{ ...valid, make: "" }, "make: must not be empty"],
    [{ ...valid, model: "" }, "model: must not be empty"],
    [{ ...valid, model: 240 }, "model: must be a string"],
    [{ ...valid, year: 1885 }, "year: must be 1886 or later"],
    [{ ...valid, year: lastCarYear() + 1 }, `year: must be ${lastCarYear()} or earlier`],
    [{ ...valid, year: 1990.5 }, "year: must be an integer"],
    [{ ...valid, color: "red" }, 'color: unknown field "color" (ferry never drops fields silently)'],
  ])("%o is refused with %s", (input, message) => {
    expect(messages(input)).toEqual([message]);
  });

  test("missing fields are each named", () => {
    expect(messages({})).toEqual(["id: is required", "make: is required", "model: is required", "year: is required"]);
  });

  test("next year is the last valid year", () => {
    expect(lastCarYear(new Date("2026-12-31T23:00:00Z"))).toBe(2027);
  });
});
