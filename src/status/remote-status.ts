/**
 * Reading another ferry's status over HTTP (what `ferry top` shows): GET <url>/status.json with
 * the bearer token, checked against the snapshot's schema. Every way it can fail becomes one line
 * for a person (unreachable, a token wanted or refused, no status there, an answer of another
 * shape); the token never appears in it.
 */
import * as v from "valibot";
import { errorMessage } from "../errors.ts";
import { type StatusSnapshot, StatusSnapshotSchema } from "./types.ts";

export type StatusReading = { ok: true; snapshot: StatusSnapshot } | { ok: false; message: string };

/** The URL as shown to people: without user name or password. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return url;
  }
}

/** Where the snapshot is: `url` itself when it names /status.json, else <url>/status.json. */
export function statusUrlOf(url: string): string {
  const base = url.replace(/\/+$/, "");
  return /\/status\.json$/.test(base) ? base : `${base}/status.json`;
}

export interface StatusSource {
  /** From statusUrlOf. */
  url: string;
  token?: string;
  /** Extra fetch options (e.g. Bun's `tls` with a CA). */
  init?: Record<string, unknown>;
  /** Sent as a header so the server can tell who asks (e.g. "ferry-top/1.2.3"). */
  userAgent: string;
}

/** The usual network errors, said plainly (others keep the runtime's message). */
const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connection refused (is ferry running there?)",
  ENOTFOUND: "no such host",
  ECONNRESET: "the connection was reset",
  EHOSTUNREACH: "no route to the host",
  ENETUNREACH: "the network is unreachable",
};

const firstLine = (s: string, max = 160) => {
  const line = s.trim().split(/\r?\n/)[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** One reading of the status; `signal` ends it early (timeout or quitting). */
export async function readStatus(source: StatusSource, signal: AbortSignal): Promise<StatusReading> {
  const shown = shownUrl(source.url);
  const headers: Record<string, string> = { accept: "application/json", "user-agent": source.userAgent };
  if (source.token !== undefined) headers.authorization = `Bearer ${source.token}`;
  let res: Response;
  try {
    res = await fetch(source.url, { ...source.init, headers, signal, redirect: "manual" } as RequestInit);
  } catch (e) {
    const timedOut = signal.aborted && signal.reason instanceof DOMException && signal.reason.name === "TimeoutError";
    const code = (e as { code?: unknown }).code;
    const why = timedOut ? "no answer in time" : (typeof code === "string" && NETWORK_ERRORS[code]) || errorMessage(e);
    return { ok: false, message: `cannot reach ${shown}: ${firstLine(why)}` };
  }
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    return { ok: false, message: `cannot reach ${shown}: the answer broke off (${firstLine(errorMessage(e))})` };
  }
  if (res.status === 401 || res.status === 403) {
    return {
      ok: false,
      message:
        source.token === undefined
          ? `${shown} wants a token (${res.status}): give --auth-token-file FILE or FERRY_AUTH_TOKEN`
          : `${shown} refused the token (${res.status}): check --auth-token-file or FERRY_AUTH_TOKEN`,
    };
  }
  if (res.status === 404) return { ok: false, message: `${shown} answered 404: no ferry status there (give the listener's URL, e.g. http://127.0.0.1:8080)` };
  if (res.status >= 300) {
    let said = "";
    try {
      said = (JSON.parse(text) as { error?: unknown }).error as string;
    } catch {
      said = text;
    }
    return { ok: false, message: `${shown} answered ${res.status}${said ? `: ${firstLine(String(said))}` : ""}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: `${shown} answered something that is not JSON: ${firstLine(text, 60) || "(empty)"}` };
  }
  const parsed = v.safeParse(StatusSnapshotSchema, json);
  if (!parsed.success) {
    const issue = parsed.issues[0]!;
    const path = v.getDotPath(issue);
    const version = typeof (json as { version?: unknown })?.version === "string" ? ` (it runs ferry ${(json as { version: string }).version})` : "";
    return { ok: false, message: `${shown} answered a status this ferry top cannot read${version}: ${path ? `${path}: ` : ""}${issue.message}` };
  }
  return { ok: true, snapshot: parsed.output };
}
