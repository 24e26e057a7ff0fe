/** Renders a query result as an aligned table, CSV, or JSON lines. */
import type { JsonValue, QueryResult } from "../query-result.ts";

export const OUTPUT_FORMATS = ["table", "csv", "json"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const cell = (x: JsonValue): string => (x === null ? "NULL" : typeof x === "object" ? JSON.stringify(x) : String(x));

/**
 * A cell as a terminal shows it: control characters (C0, DEL, C1: an ESC would drive the terminal)
 * and line breaks written as \u escapes, so a stored value can neither move the cursor nor break the table.
 */
const shown = (x: JsonValue): string => cell(x).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

function csvField(x: JsonValue): string {
  if (x === null) return "";
  const s = cell(x);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function table(r: QueryResult): string {
  const cells = r.rows.map((row) => row.map(shown));
  const widths = r.columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const numeric = r.types.map((t) => /INT|DECIMAL|DOUBLE|FLOAT|REAL|NUMERIC/.test(t));
  const line = (vals: string[], right: boolean[]) =>
    vals.map((s, i) => (right[i] ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join(" │ ").trimEnd();
  const rule = widths.map((w) => "─".repeat(w)).join("─┼─");
  const body = cells.map((row) => line(row, numeric));
  const footer = `(${r.rows.length} row${r.rows.length === 1 ? "" : "s"})`;
  return [line(r.columns, r.columns.map(() => false)), rule, ...body, footer].join("\n") + "\n";
}

export function formatResult(r: QueryResult, format: OutputFormat): string {
  switch (format) {
    case "csv":
      return [r.columns.map((c) => csvField(c)), ...r.rows.map((row) => row.map(csvField))].map((l) => l.join(",")).join("\n") + "\n";
    case "json":
      return r.rows.map((row) => JSON.stringify(Object.fromEntries(r.columns.map((c, i) => [c, row[i]])))).join("\n") + (r.rows.length ? "\n" : "");
    case "table":
      return table(r);
  }
}
