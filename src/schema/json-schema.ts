/** JSON Schema derived from the valibot schemas (HTTP API, OpenAPI, Schema Registry). */
import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";

/** `check` actions carry their JSON Schema counterpart in a `metadata` action beside them. */
const keepCheckedSchema = ({ valibotAction, jsonSchema }: { valibotAction: { type: string }; jsonSchema: object }) =>
  valibotAction.type === "check" ? jsonSchema : undefined;

/**
 * Drops ferry's own annotations (such as the SQL type) from the derived schema; `portable` also
 * drops a fractional `multipleOf` (price: 0.01), which validators compute in binary floating point
 * (19.99 / 0.01 = 1998.9999999999998) and so refuse good values: Confluent's deserializers, Python's
 * jsonschema and ajv alike. ferry's own check of the decimals stays in the valibot schema.
 */
function strip(node: unknown, portable: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => strip(n, portable));
  if (node && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(node)) {
      if (k === "sql" || (portable && k === "multipleOf" && !Number.isInteger(val))) continue;
      out[k] = strip(val, portable);
    }
    return out;
  }
  return node;
}

export type JsonSchema = Record<string, unknown>;

export function jsonSchemaOf(schema: v.GenericSchema, target: "draft-07" | "draft-2020-12" = "draft-2020-12", opts: { portable?: boolean } = {}): JsonSchema {
  return strip(toJsonSchema(schema, { target, errorMode: "throw", overrideAction: keepCheckedSchema }), opts.portable ?? false) as JsonSchema;
}

/** The schema ferry registers in a Schema Registry for a record kind's values (draft-07, portable). */
export const registrySchemaOf = (schema: v.GenericSchema): JsonSchema => jsonSchemaOf(schema, "draft-07", { portable: true });
