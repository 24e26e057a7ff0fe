/**
 * POST /orders answers other than 202, by status, reason and field (for 422 each invalid record's
 * field and rule), for the status page. Reasons are short and fixed per status except 422's (the
 * schema's rule); at most MAX_KEYS different ones are kept apart (a field name is the sender's
 * text: an unknown field's name), the rest are counted together as "other".
 */
import type { RecordIssue } from "../../schema/issues.ts";
import type { IngressStatus } from "../types.ts";

const MAX_KEYS = 64;
type Refusal = IngressStatus["refusals"][number];

/** The short reason of an answer that is not a 422 (a 422's are its records' issues). */
export function reasonOf(status: number, error: string): string {
  switch (status) {
    case 400:
      return /UTF-8/.test(error) ? "not valid UTF-8" : /no records/.test(error) ? "no records" : /malformed JSON/.test(error) ? "malformed JSON" : "bad request";
    case 401:
      return "missing or invalid token";
    case 413:
      return "body too large";
    case 415:
      return "unsupported content type";
    case 429:
      return "too many records in flight";
    case 503:
      return /shutting down/.test(error) ? "shutting down" : "downstream unavailable";
    default:
      return status >= 500 ? "internal error" : "refused";
  }
}

/** A 422 issue's reason: the rule, without the value or name it quotes (`unknown field "x" …` → `unknown field`). */
const issueReason = (message: string) => message.replace(/ "[^"]*".*$/, "").replace(/ \(.*\)$/, "");

export class Refusals {
  private readonly counts = new Map<string, Refusal>();

  /** One answer of POST /orders: its status, and what was thrown (an HttpError's body, or another error). */
  noteAnswer(status: number, error: unknown): void {
    if (status < 400) return;
    const body = (error as { body?: { error?: unknown; issues?: RecordIssue[] } } | undefined)?.body;
    if (status === 422 && Array.isArray(body?.issues)) {
      for (const i of body.issues) this.add(422, issueReason(i.message), i.path === "" ? null : i.path, 1);
      return;
    }
    this.add(status, reasonOf(status, String(body?.error ?? (error instanceof Error ? error.message : ""))), null, 1);
  }

  add(status: number, reason: string, field: string | null, n: number): void {
    let key = `${status}\u0000${reason}\u0000${field ?? ""}`;
    if (!this.counts.has(key) && this.counts.size >= MAX_KEYS) {
      key = `${status}\u0000other`;
      reason = "other";
      field = null;
    }
    const r = this.counts.get(key);
    if (r) r.count += n;
    else this.counts.set(key, { status, reason, field, count: n });
  }

  /** Most frequent first (copies). */
  list(): Refusal[] {
    return [...this.counts.values()].map((r) => ({ ...r })).sort((a, b) => b.count - a.count || a.status - b.status || a.reason.localeCompare(b.reason) || (a.field ?? "").localeCompare(b.field ?? ""));
  }
}
