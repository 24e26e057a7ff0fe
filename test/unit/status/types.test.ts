/** The status snapshot's schema: each mode's example fixture (test/fixtures/status/<mode>.json) is valid, by valibot and by the derived JSON Schema. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv/dist/2020";
import addFormats from "ajv-formats";
import * as v from "valibot";
import { jsonSchemaOf } from "../../../src/schema/json-schema.ts";
import { openApiDocument } from "../../../src/http/openapi.ts";
import { STATUS_MODES, StatusSnapshotSchema } from "../../../src/status/types.ts";

const fixture = (mode: string) => JSON.parse(readFileSync(join(import.meta.dir, "../../fixtures/status", `${mode}.json`), "utf8"));
const ajv = new Ajv({ strict: false });
addFormats(ajv);
const validate = ajv.compile(jsonSchemaOf(StatusSnapshotSchema));

describe("status snapshot schema", () => {
  for (const mode of STATUS_MODES) {
    test(`the ${mode} fixture is a valid snapshot with the ${mode} section`, () => {
      const snapshot = fixture(mode);
      const r = v.safeParse(StatusSnapshotSchema, snapshot);
      expect(r.issues?.map((i) => `${v.getDotPath(i)}: ${i.message}`) ?? []).toEqual([]);
      expect(snapshot.mode).toBe(mode);
      expect(snapshot[mode]).toBeDefined();
      expect({ ok: validate(snapshot), errors: validate.errors ?? null }).toEqual({ ok: true, errors: null });
    });
  }

  test("a section of another mode is refused", () => {
    const snapshot = { ...fixture("serve"), run: fixture("run").run };
    expect(v.safeParse(StatusSnapshotSchema, snapshot).success).toBe(false);
    const missing = { ...fixture("sink"), sink: undefined };
    expect(v.safeParse(StatusSnapshotSchema, missing).success).toBe(false);
  });

  test("a wrong state, a negative count or a time without a zone is refused", () => {
    const s = fixture("sink");
    expect(v.safeParse(StatusSnapshotSchema, { ...s, dependencies: [{ ...s.dependencies[0], state: "maybe" }] }).success).toBe(false);
    expect(v.safeParse(StatusSnapshotSchema, { ...s, totals: { ...s.totals, in: -1 } }).success).toBe(false);
    expect(v.safeParse(StatusSnapshotSchema, { ...s, now: "2026-01-01 10:00:00" }).success).toBe(false);
    expect(validate({ ...s, totals: { ...s.totals, in: 1.5 } })).toBe(false);
  });

  test("openapi.json documents GET /status.json with the snapshot's derived schema", () => {
    const doc = openApiDocument("t") as any;
    expect(doc.paths["/status.json"].get.responses["200"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/StatusSnapshot" });
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/", "/status.json", "/status/events", "/login", "/logout"]));
    const check = new Ajv({ strict: false });
    addFormats(check);
    const fromDoc = check.compile(doc.components.schemas.StatusSnapshot);
    for (const mode of STATUS_MODES) expect(fromDoc(fixture(mode))).toBe(true);
    expect(fromDoc({ ...fixture("run"), mode: "nope" })).toBe(false);
  });
});
