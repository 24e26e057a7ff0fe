/** JSON Schema derived from the valibot schemas (HTTP API, OpenAPI, Schema Registry). */
import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";

/** `check` actions carry their JSON Schema counterpart in a `metadata` action beside them. */
const keepCheckedSchema = ({ valibotAction, jsonSchema }: { valibotAction: { type: string }; jsonSchema: object }) =>
  valibotAction.type === "check" ? jsonSchema : undefined;

/** Drops ferry's own annotations (such as the SQL type) from the derived schema. */
function stripPrivate(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripPrivate);
  if (node && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(node)) if (k !== "sql") out[k] = stripPrivate(val);
    return out;
  }
  return node;
}

export type JsonSchema = Record<string, unknown>;

export function jsonSchemaOf(schema: v.GenericSchema, target: "draft-07" | "draft-2020-12" = "draft-2020-12"): JsonSchema {
  return stripPrivate(toJsonSchema(schema, { target, errorMode: "throw", overrideAction: keepCheckedSchema })) as Record<string, unknown>;
}
