/**
 * A fast yes/no check compiled from a record schema, for the hot path (the sink checks every
 * Kafka record). It reads the same valibot schema — its objects, types, lengths, ranges and
 * `check` functions — so no rule is written twice, but it builds no issues and no output object:
 * `true` means valibot accepts the value and would output it unchanged (no transformation),
 * `false` means "ask valibot", which then says why (or, for a value this check is too strict for,
 * accepts it). A schema using anything this compiler does not know compiles to `undefined`.
 */
import type * as v from "valibot";

export type FastCheck = (input: unknown) => boolean;

type Node = { kind: string; type: string; requirement?: unknown; pipe?: Node[]; entries?: Record<string, Node>; wrapped?: Node; default?: unknown };
type Test = (x: never) => boolean;

/** Compiles `schema`, or `undefined` when it uses a schema or action the compiler does not know. */
export function compileFastCheck(schema: v.GenericSchema): FastCheck | undefined {
  try {
    return compile(schema as unknown as Node);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

class Unsupported extends Error {}

function compile(node: Node): FastCheck {
  const own = compileType(node);
  const actions = (node.pipe ?? []).slice(1).filter((a) => a.kind !== "metadata").map(compileAction);
  if (actions.length === 0) return own;
  return (x) => {
    if (!own(x)) return false;
    for (const a of actions) if (!a(x as never)) return false;
    return true;
  };
}

function compileType(node: Node): FastCheck {
  switch (node.type) {
    case "string":
      return (x) => typeof x === "string";
    case "number":
      return (x) => typeof x === "number" && !Number.isNaN(x);
    case "boolean":
      return (x) => typeof x === "boolean";
    case "optional": {
      // A default would change the output: not this compiler's case.
      if (node.default !== undefined) throw new Unsupported();
      const inner = compile(node.wrapped!);
      return (x) => x === undefined || inner(x);
    }
    case "strict_object": {
      const fields = Object.entries(node.entries!).map(([key, entry]) => ({ key, check: compile(entry) }));
      const known = new Set(fields.map((f) => f.key));
      return (x) => {
        if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
        const record = x as Record<string, unknown>;
        for (const key in record) if (!known.has(key)) return false;
        for (const f of fields) if (!f.check(record[f.key])) return false;
        return true;
      };
    }
    default:
      throw new Unsupported();
  }
}

function compileAction(action: Node): Test {
  if (action.kind !== "validation") throw new Unsupported();
  const r = action.requirement as never;
  switch (action.type) {
    case "min_length":
      return (x: string) => x.length >= r;
    case "max_length":
      return (x: string) => x.length <= r;
    case "min_value":
      return (x: number) => x >= r;
    case "max_value":
      return (x: number) => x <= r;
    case "integer":
    case "check":
      return r as (x: unknown) => boolean;
    case "iso_timestamp":
    case "regex":
      return (x: string) => (r as RegExp).test(x);
    default:
      throw new Unsupported();
  }
}
