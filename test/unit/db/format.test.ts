import { describe, expect, test } from "bun:test";
import { formatResult } from "../../../src/db/format.ts";

const result = {
  columns: ["id", "name", "price"],
  types: ["INTEGER", "VARCHAR", "DECIMAL(12,2)"],
  rows: [
    [1, "plain", "1.50"],
    [22, 'with "quote", comma', null],
  ],
};

describe("formatResult", () => {
  test("table aligns columns, numbers to the right, and counts rows", () => {
    expect(formatResult(result, "table")).toBe(
      [
        "id │ name                │ price",
        "───┼─────────────────────┼──────",
        " 1 │ plain               │  1.50",
        "22 │ with \"quote\", comma │  NULL",
        "(2 rows)",
        "",
      ].join("\n"),
    );
  });
  test("csv quotes what needs quoting and leaves NULL empty", () => {
    expect(formatResult(result, "csv")).toBe('id,name,price\n1,plain,1.50\n22,"with ""quote"", comma",\n');
  });
  test("json is one object per row", () => {
    expect(formatResult(result, "json")).toBe('{"id":1,"name":"plain","price":"1.50"}\n{"id":22,"name":"with \\"quote\\", comma","price":null}\n');
  });
  test("an empty result", () => {
    expect(formatResult({ ...result, rows: [] }, "json")).toBe("");
    expect(formatResult({ ...result, rows: [] }, "table")).toEndWith("(0 rows)\n");
  });
  test("a table shows control characters as escapes: a stored ESC cannot drive the terminal, a line break cannot break the table", () => {
    const hostile = { columns: ["v"], types: ["VARCHAR"], rows: [["a\u001b[2Jb\nc\u0000d\u009b\u2028é😀"]] };
    const out = formatResult(hostile, "table");
    expect(out.split("\n")[2]).toBe("a\\u001b[2Jb\\u000ac\\u0000d\\u009b\\u2028é😀");
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(formatResult(hostile, "json")).toBe(`${JSON.stringify({ v: hostile.rows[0]![0] })}\n`); // json keeps the value exactly
  });
});
