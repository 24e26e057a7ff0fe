/** The one definition of a car record (the old Schema-Registry "car" producer and consumer). */
import * as v from "valibot";
import { objectMessage, validUnicode } from "./rules.ts";

export const FIRST_CAR_YEAR = 1886;
/** Cars of next year's model are already sold; the upper bound moves with the clock. */
export const lastCarYear = (now: Date = new Date()) => now.getUTCFullYear() + 1;

export const CarSchema = v.pipe(
  v.strictObject(
    {
      id: v.pipe(
        v.number("must be a number"),
        v.integer("must be an integer"),
        v.minValue(1, "must be a positive integer"),
        v.maxValue(Number.MAX_SAFE_INTEGER, "must be a safe integer"),
        v.description("Positive integer id of the car."),
        v.metadata({ sql: "BIGINT PRIMARY KEY" }),
      ),
      make: v.pipe(v.string("must be a string"), v.minLength(1, "must not be empty"), validUnicode, v.description("Manufacturer."), v.metadata({ sql: "VARCHAR NOT NULL" })),
      model: v.pipe(v.string("must be a string"), v.minLength(1, "must not be empty"), validUnicode, v.description("Model name."), v.metadata({ sql: "VARCHAR NOT NULL" })),
      year: v.pipe(
        v.number("must be a number"),
        v.integer("must be an integer"),
        v.minValue(FIRST_CAR_YEAR, `must be ${FIRST_CAR_YEAR} or later`),
        v.check((y) => y <= lastCarYear(), () => `must be ${lastCarYear()} or earlier`),
        v.description(`Model year, ${FIRST_CAR_YEAR} to next year.`),
        v.metadata({ sql: "SMALLINT NOT NULL" }),
      ),
    },
    objectMessage,
  ),
  v.title("Car"),
  v.description("A car record."),
);

export type Car = v.InferOutput<typeof CarSchema>;
