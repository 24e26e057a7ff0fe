/**
 * A Confluent-compatible Schema Registry (JSON Schema); the wire format itself (byte 0, the schema
 * id as a 4-byte big-endian integer, then the JSON) is in wire-format.ts, re-exported here.
 *
 * Producers register their schema under `<topic>-value` (schemaType JSON) once and frame every
 * value with the id; or, like Confluent's serializers with auto.register.schemas=false, only look
 * it up; or (use.latest.version=true) frame with the subject's latest schema, whoever registered
 * it, checking each value against it. Consumers look an id up once (cached), compile the schema
 * (ajv) and validate each value with it. Credentials may ride in the URL (`https://user:pass@host`:
 * HTTP Basic). A registry that refuses connections or answers 5xx (as one does for a while after
 * it starts) is retried until `timeoutMs`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import Ajv, { type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { DownstreamError, errorMessage } from "../errors.ts";
import type { JsonSchema } from "../schema/json-schema.ts";
import { framer } from "./wire-format.ts";

export { CONFLUENT_HEADER_BYTES, CONFLUENT_MAGIC, frameOf, framer } from "./wire-format.ts";

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

/** Why a value does not match its schema, or undefined when it does. */
export type SchemaCheck = (value: unknown) => string | undefined;

export interface RegistryOptions {
  /** How long a request is retried while the registry refuses connections or answers 5xx. */
  timeoutMs?: number;
  /** Producers register their schema (false: it must already be there). */
  autoRegister?: boolean;
  /** Producers frame with the subject's latest schema (and check values against it). */
  useLatest?: boolean;
}

export interface SchemaRegistry {
  readonly url: string;
  readonly options: Required<RegistryOptions>;
  /** The subject's latest version: its id and schema text; undefined when the subject has none. */
  latest(subject: string): Promise<{ id: number; schema: string } | undefined>;
  /** The id of exactly this schema under the subject, if it was registered there. */
  lookup(subject: string, schema: JsonSchema): Promise<number | undefined>;
  /** Registers (or finds) the schema under the subject; its id. */
  register(subject: string, schema: JsonSchema): Promise<number>;
  /** The validator of a schema id, fetched once. Rejects with SchemaNotFound for an unknown id. */
  check(id: number): Promise<SchemaCheck>;
  /** The validator of an id already fetched (see `check`). */
  cached(id: number): SchemaCheck | undefined;
}

export class SchemaNotFound extends Error {}

export function createSchemaRegistry(url: string, opts: RegistryOptions = {}): SchemaRegistry {
  const parsed = new URL(url);
  const headers: Record<string, string> = { accept: CONTENT_TYPE, "content-type": CONTENT_TYPE };
  if (parsed.username) headers.authorization = `Basic ${btoa(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`)}`;
  parsed.username = "";
  parsed.password = "";
  const base = parsed.toString().replace(/\/$/, "");
  const options = { timeoutMs: opts.timeoutMs ?? 30_000, autoRegister: opts.autoRegister ?? true, useLatest: opts.useLatest ?? false };
  const ajv = new Ajv({ allErrors: false, strict: false, validateFormats: true });
  addFormats(ajv);
  const checks = new Map<number, SchemaCheck>();
  const pending = new Map<number, Promise<SchemaCheck>>();

  /** One request, retried on network errors and 5xx until `timeoutMs`; a 4xx answer is final. */
  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    let last: unknown;
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    for (let attempt = 0, wait = 200; Date.now() < deadline; attempt++, wait = Math.min(2000, wait * 2)) {
      if (attempt > 0) await sleep(Math.min(wait, Math.max(0, deadline - Date.now())));
      try {
        const left = Math.max(1, Math.min(10_000, deadline - Date.now()));
        const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(left) });
        const text = await res.text();
        const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        if (res.status >= 500) {
          last = new Error(`${res.status} ${String(json.message ?? text).slice(0, 200)}`);
          continue;
        }
        return { status: res.status, json };
      } catch (e) {
        // A request cut short by the deadline itself says less than the answer before it (a 500, say).
        if (last === undefined || (e as Error).name !== "TimeoutError") last = e;
      }
    }
    const tried = `tried for ${((Date.now() - started) / 1000).toFixed(1)} s; --registry-timeout`;
    throw new DownstreamError("schema registry", `${method} ${base}${path} failed: ${errorMessage(last)} (${tried})`, { cause: last });
  }

  function compile(id: number, schemaText: string): SchemaCheck {
    let validate: ValidateFunction;
    try {
      const schema = JSON.parse(schemaText) as Record<string, unknown>;
      // ajv knows draft-07 by default; the $schema keyword only names the draft.
      delete schema.$schema;
      validate = ajv.compile(schema);
    } catch (e) {
      throw new DownstreamError("schema registry", `schema ${id} cannot be used: ${errorMessage(e)}`, { cause: e });
    }
    return (value) => {
      if (validate(value)) return undefined;
      const err = validate.errors?.[0];
      return `does not match schema ${id}: ${err?.instancePath || "(root)"} ${err?.message ?? "is invalid"}`;
    };
  }

  return {
    url: base,
    options,
    async register(subject, schema) {
      const { status, json } = await call("POST", `/subjects/${encodeURIComponent(subject)}/versions`, { schemaType: "JSON", schema: JSON.stringify(schema) });
      if (status !== 200 || typeof json.id !== "number") {
        const hint = status === 409 ? " (the subject holds a schema this one is not compatible with: --no-registry-auto-register --registry-use-latest writes with the subject's latest schema instead)" : "";
        throw new DownstreamError("schema registry", `registering the schema of subject ${subject} was refused (${status}): ${String(json.message ?? JSON.stringify(json))}${hint}`);
      }
      return json.id;
    },
    async latest(subject) {
      const { status, json } = await call("GET", `/subjects/${encodeURIComponent(subject)}/versions/latest`);
      if (status === 404) return undefined;
      if (status !== 200 || typeof json.id !== "number" || typeof json.schema !== "string") {
        throw new DownstreamError("schema registry", `the latest schema of subject ${subject}: answer ${status}: ${JSON.stringify(json).slice(0, 200)}`);
      }
      const type = (json.schemaType as string | undefined) ?? "AVRO";
      if (type !== "JSON") throw new DownstreamError("schema registry", `the latest schema of subject ${subject} (id ${json.id}) is ${type}, not JSON Schema`);
      return { id: json.id, schema: json.schema };
    },
    async lookup(subject, schema) {
      const { status, json } = await call("POST", `/subjects/${encodeURIComponent(subject)}`, { schemaType: "JSON", schema: JSON.stringify(schema) });
      if (status === 404) return undefined;
      if (status !== 200 || typeof json.id !== "number") throw new DownstreamError("schema registry", `looking up the schema of subject ${subject}: answer ${status}: ${JSON.stringify(json).slice(0, 200)}`);
      return json.id;
    },
    check(id) {
      const known = checks.get(id);
      if (known) return Promise.resolve(known);
      let p = pending.get(id);
      if (!p) {
        p = (async () => {
          const { status, json } = await call("GET", `/schemas/ids/${id}`);
          if (status === 404) throw new SchemaNotFound(`schema id ${id} is not in the registry ${base}`);
          if (status !== 200 || typeof json.schema !== "string") throw new DownstreamError("schema registry", `schema ${id}: answer ${status}: ${JSON.stringify(json).slice(0, 200)}`);
          const type = (json.schemaType as string | undefined) ?? "AVRO";
          const check: SchemaCheck = type === "JSON" ? compile(id, json.schema) : () => `schema ${id} is ${type}, not JSON Schema`;
          checks.set(id, check);
          return check;
        })().finally(() => pending.delete(id));
        pending.set(id, p);
      }
      return p;
    },
    cached: (id) => checks.get(id),
  };
}

/** The registry a mode's config names, with its options resolved once; undefined without --schema-registry. */
export function registryOf(c: { schemaRegistry?: string; registryTimeout: number; registryAutoRegister?: boolean; registryUseLatest?: boolean }): SchemaRegistry | undefined {
  if (!c.schemaRegistry) return undefined;
  return createSchemaRegistry(c.schemaRegistry, { timeoutMs: c.registryTimeout, autoRegister: c.registryAutoRegister, useLatest: c.registryUseLatest });
}

/** The subject of a topic's values (Confluent's TopicNameStrategy). */
export const valueSubject = (topic: string) => `${topic}-value`;

/** How a producer writes values to a topic: plain JSON, or framed with the id its schema got from the registry. */
export type ValueWriter = (json: string) => string | Buffer;

export async function valueWriter(registry: SchemaRegistry | undefined, topic: string, schema: JsonSchema): Promise<ValueWriter> {
  if (!registry) return (json) => json;
  const subject = valueSubject(topic);
  const { autoRegister, useLatest } = registry.options;
  if (useLatest) {
    const latest = await registry.latest(subject);
    if (!latest) throw new DownstreamError("schema registry", `subject ${subject} has no schema yet (--registry-use-latest writes with one that is there)`);
    const check = await registry.check(latest.id);
    const frame = framer(latest.id);
    return (json) => {
      const why = check(JSON.parse(json));
      if (why) throw new DownstreamError("schema registry", `a value for ${topic} ${why} (the latest schema of ${subject}); nothing of it was sent`);
      return frame(json);
    };
  }
  if (autoRegister) return framer(await registry.register(subject, schema));
  const id = await registry.lookup(subject, schema);
  if (id === undefined) {
    throw new DownstreamError("schema registry", `ferry's schema is not registered under subject ${subject}, and --no-registry-auto-register forbids registering it (--registry-use-latest writes with the subject's latest schema)`);
  }
  return framer(id);
}
