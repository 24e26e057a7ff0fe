/**
 * Config fields: each is a valibot schema carrying its own docs and CLI shape, so the typed
 * config, the validation, `--help` and the env names all come from one declaration.
 * Raw values from flags and env are strings; `coerce` (in load.ts) turns them into the field's
 * kind before validation, so config files may use real JSON/TOML types.
 */
import * as v from "valibot";

export type FieldKind = "string" | "int" | "number" | "bool" | "list" | "enum" | "duration";

export interface FieldInfo {
  kind: FieldKind;
  doc: string;
  /** What the value looks like in help, e.g. PORT, HOST:PORT. */
  placeholder?: string;
  /** Allowed values, for enums. */
  values?: readonly string[];
  /** Hide the value in logs and help defaults. */
  secret?: boolean;
  /** A standard variable also read when FERRY_* is not set (e.g. AWS_ACCESS_KEY_ID). */
  alsoEnv?: string;
}

const INFO = "ferryField";

function tag<S extends v.GenericSchema>(schema: S, info: FieldInfo) {
  return v.pipe(schema, v.description(info.doc), v.metadata({ [INFO]: info }));
}

/** Reads the field info back from a (possibly optional) field schema. */
export function fieldInfo(schema: v.GenericSchema): FieldInfo | undefined {
  const inner = (schema as unknown as { wrapped?: v.GenericSchema }).wrapped ?? schema;
  return (v.getMetadata(inner as never) as Record<string, FieldInfo | undefined>)[INFO];
}

interface Common {
  doc: string;
  placeholder?: string;
  secret?: boolean;
  alsoEnv?: string;
}

export function str(o: Common & { min?: number; pattern?: RegExp; patternHint?: string }) {
  const checks: v.PipeItem<string, string, v.BaseIssue<unknown>>[] = [];
  if (o.min !== undefined) checks.push(v.minLength(o.min, `must be at least ${o.min} characters`));
  if (o.pattern) checks.push(v.regex(o.pattern, o.patternHint ?? `must match ${o.pattern}`));
  return tag(v.pipe(v.string("expected a string"), ...checks), { kind: "string", ...o });
}

export function int(o: Common & { min?: number; max?: number }) {
  const range =
    o.min !== undefined && o.max !== undefined
      ? `an integer from ${o.min} to ${o.max}`
      : o.min !== undefined
        ? `an integer ≥ ${o.min}`
        : "an integer";
  return tag(
    v.pipe(
      v.number(`expected ${range}`),
      v.integer(`expected ${range}`),
      v.minValue(o.min ?? Number.MIN_SAFE_INTEGER, `expected ${range}`),
      v.maxValue(o.max ?? Number.MAX_SAFE_INTEGER, `expected ${range}`),
    ),
    { kind: "int", placeholder: "N", ...o },
  );
}

export function num(o: Common & { min?: number; max?: number }) {
  const range = o.min !== undefined && o.max !== undefined ? `a number from ${o.min} to ${o.max}` : "a number";
  return tag(
    v.pipe(
      v.number(`expected ${range}`),
      v.minValue(o.min ?? -Infinity, `expected ${range}`),
      v.maxValue(o.max ?? Infinity, `expected ${range}`),
    ),
    { kind: "number", placeholder: "X", ...o },
  );
}

export function bool(o: Common) {
  return tag(v.boolean("expected true or false"), { kind: "bool", ...o });
}

export function list(o: Common & { min?: number; itemPattern?: RegExp; itemHint?: string }) {
  const item = o.itemPattern
    ? v.pipe(v.string("expected a string"), v.regex(o.itemPattern, o.itemHint ?? `must match ${o.itemPattern}`))
    : v.pipe(v.string("expected a string"), v.minLength(1, "must not be empty"));
  const min = o.min ?? 0;
  return tag(
    v.pipe(v.array(item, "expected a list of strings"), v.minLength(min, `needs at least ${min} value${min > 1 ? "s" : ""}`)),
    { kind: "list", ...o },
  );
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T, o: Common) {
  return tag(v.picklist(values, `expected one of ${values.join(", ")}`), {
    kind: "enum",
    values,
    placeholder: values.join("|"),
    ...o,
  });
}

/** Common duration parser for "500ms", "10s", "2m", or a plain number of milliseconds. */
export function duration(o: Common & { min?: number }) {
  return tag(
    v.pipe(
      v.number("expected a duration such as 500ms, 10s or 2m"),
      v.minValue(o.min ?? 0, `must be at least ${o.min ?? 0}ms`),
    ),
    { kind: "duration", placeholder: "DURATION", ...o },
  );
}
