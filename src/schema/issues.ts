/** Turns valibot issues into the issues ferry reports: which record, which field, why. */
import * as v from "valibot";

export interface RecordIssue {
  /** Position of the record in its batch (request body, file, Kafka batch). */
  index: number;
  /** Dotted path of the field, "" for the record itself. */
  path: string;
  message: string;
}

export function toRecordIssues(index: number, issues: readonly v.BaseIssue<unknown>[]): RecordIssue[] {
  return issues.map((issue) => ({ index, path: v.getDotPath(issue) ?? "", message: issue.message }));
}

/** One line for logs and CLI errors: `record 3, field price: must not be negative`. */
export function formatIssue(i: RecordIssue): string {
  return `record ${i.index}${i.path ? `, field ${i.path}` : ""}: ${i.message}`;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; issues: RecordIssue[] };

/** Validates one record; every issue is collected, not just the first. */
export function validateRecord<T>(schema: v.GenericSchema<unknown, T>, input: unknown, index: number): Validated<T> {
  const result = v.safeParse(schema, input);
  return result.success ? { ok: true, value: result.output } : { ok: false, issues: toRecordIssues(index, result.issues) };
}
