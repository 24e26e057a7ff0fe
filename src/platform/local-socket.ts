/**
 * A Unix-domain socket in the data dir through which the process that holds ferry.duckdb (DuckDB
 * allows one writer process) answers `ferry query` (POST /query) and takes orders (everything
 * else goes to the ingress: `ferry generate` into the same data dir writes through it). Only the
 * data dir's owner can reach it (mode 0600), so it needs no token. A query asks for its time limit
 * and the locked setting by headers; a refusal, a timeout and too many rows come back as such
 * (kind), and the client throws the same typed error as a query run in its own process.
 */
import { chmodSync, rmSync } from "node:fs";
import { DownstreamError, errorMessage, FerryError } from "../errors.ts";
import type { QueryResult } from "../query-result.ts";
import type { QueryAccess } from "../db/query-lockdown.ts";
import type { QueryAsk } from "../db/query-service.ts";
import { QueryRefusedError, QueryTimeoutError, QueryTooLargeError } from "../db/read-only-query.ts";

/** Headers by which `ferry query` asks for a time limit (milliseconds) and the locked setting. */
const TIMEOUT_HEADER = "ferry-query-timeout-ms";
const ACCESS_HEADER = "ferry-query-access";
/** …and the lake at a snapshot: its number, or a time. */
const SNAPSHOT_HEADER = "ferry-query-snapshot";
const AT_HEADER = "ferry-query-at";

/** How a refused query is answered, and told apart again by the client. */
const KINDS = [
  ["refused", QueryRefusedError, 403],
  ["timeout", QueryTimeoutError, 504],
  ["too-large", QueryTooLargeError, 413],
] as const;

/** A system without local (AF_UNIX) sockets: Windows before 10 1803, or wine 8. */
const NO_LOCAL_SOCKETS = /EAFNOSUPPORT|address family not supported/i;

/**
 * Serves the socket at `path`. Where the system has no local sockets, the process goes on without
 * one and says so once through `warn` (`ferry query` then cannot reach it while it runs).
 */
export function serveLocal(
  path: string,
  run: (sql: string, ask: QueryAsk) => Promise<QueryResult>,
  warn: (msg: string, fields: Record<string, unknown>) => void,
  ingress?: (req: Request) => Response | Promise<Response>,
): { stop(): void } {
  rmSync(path, { force: true });
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = serveAt(path, run, ingress);
  } catch (e) {
    const error = `${(e as { code?: string }).code ?? ""} ${errorMessage(e)}`.trim();
    if (!NO_LOCAL_SOCKETS.test(error)) throw e;
    warn("this system has no local sockets: ferry query and ferry generate into this data dir cannot reach this ferry while it runs", { socket: path, error });
    return { stop: () => {} };
  }
  chmodSync(path, 0o600);
  return {
    stop: () => {
      server.stop(true);
      rmSync(path, { force: true });
    },
  };
}

function serveAt(path: string, run: (sql: string, ask: QueryAsk) => Promise<QueryResult>, ingress?: (req: Request) => Response | Promise<Response>) {
  return Bun.serve({
    unix: path,
    async fetch(req, srv) {
      if (new URL(req.url).pathname !== "/query") {
        return ingress ? ingress(req) : Response.json({ error: "the ferry holding this data dir takes no orders over its socket (a sink reads them from Kafka)" }, { status: 404 });
      }
      if (req.method !== "POST") return new Response("POST the SQL", { status: 405 });
      // A query runs as long as its own time limit allows, not Bun's idle timeout (10 s).
      srv.timeout(req, 0);
      try {
        return Response.json(await run(await req.text(), askOf(req.headers)));
      } catch (e) {
        const [kind, , status] = KINDS.find(([, type]) => e instanceof type) ?? ["error", FerryError, 400];
        return Response.json({ error: errorMessage(e), kind }, { status });
      }
    },
  });
}

/** A request to the running ferry through its socket (`path` names the route, e.g. /orders). */
export function fetchOverSocket(socket: string, path: string, init: RequestInit): Promise<Response> {
  return fetch(`http://ferry${path}`, { ...init, unix: socket } as RequestInit);
}

function askOf(headers: Headers): QueryAsk {
  const ms = Number(headers.get(TIMEOUT_HEADER));
  const access = headers.get(ACCESS_HEADER);
  const snapshot = headers.get(SNAPSHOT_HEADER);
  const at = headers.get(AT_HEADER);
  return {
    timeoutMs: Number.isFinite(ms) && ms > 0 ? ms : undefined,
    access: access === "locked" || access === "open" ? (access as QueryAccess) : undefined,
    snapshot: snapshot !== null && /^\d+$/.test(snapshot) ? { version: Number(snapshot) } : at !== null ? { time: at } : undefined,
  };
}

export async function queryOverSocket(path: string, sql: string, ask: QueryAsk = {}): Promise<QueryResult> {
  let res: Response;
  const headers: Record<string, string> = {};
  if (ask.timeoutMs !== undefined) headers[TIMEOUT_HEADER] = String(ask.timeoutMs);
  if (ask.access !== undefined) headers[ACCESS_HEADER] = ask.access;
  if (ask.snapshot !== undefined) {
    if ("version" in ask.snapshot) headers[SNAPSHOT_HEADER] = String(ask.snapshot.version);
    else headers[AT_HEADER] = ask.snapshot.time;
  }
  try {
    res = await fetch("http://ferry/query", { method: "POST", body: sql, headers, unix: path, timeout: false } as RequestInit);
  } catch (e) {
    throw new DownstreamError("ferry", `the running ferry at ${path} does not answer: ${errorMessage(e)}`, { cause: e });
  }
  const body = (await res.json()) as QueryResult & { error?: string; kind?: string };
  if (!res.ok) {
    const type = KINDS.find(([kind]) => kind === body.kind)?.[1] ?? FerryError;
    throw new type(body.error ?? `the running ferry answered ${res.status}`);
  }
  return body;
}
