import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { list, str } from "../../../src/config/fields.ts";
import { effectiveConfig, SECRET } from "../../../src/status/config.ts";

const schema = v.object({
  authToken: v.optional(list({ doc: "tokens", secret: true }), []),
  password: v.optional(str({ doc: "pw", secret: true })),
  catalog: v.optional(str({ doc: "catalog" })),
  brokers: v.optional(list({ doc: "brokers" }), []),
  port: v.optional(v.number(), 8080),
});

describe("effectiveConfig", () => {
  test("a secret that is set shows as (secret); an unset one as it is; passwords inside values are masked", () => {
    const shown = effectiveConfig(schema, {
      authToken: ["t0ken-1", "t0ken-2"],
      password: "hunter2",
      catalog: "postgres://ferry:hunter2@db:5432/lake",
      brokers: ["a:9092", "host=db password=hunter2"],
      port: 8080,
      gone: undefined,
    });
    expect(shown).toEqual({ authToken: SECRET, password: SECRET, catalog: "postgres://ferry:***@db:5432/lake", brokers: ["a:9092", "host=db password=***"], port: 8080 });
    expect(JSON.stringify(shown)).not.toContain("hunter2");
    expect(JSON.stringify(shown)).not.toContain("t0ken");
    expect(effectiveConfig(schema, { authToken: [], port: 1 })).toEqual({ authToken: [], port: 1 });
  });
});
