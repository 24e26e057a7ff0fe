/**
 * A Unix-domain socket in the data dir through which the process that holds ferry.duckdb (DuckDB
 * allows one writer process) answers `ferry query` (POST /query) and takes orders (everything
 * else goes to the ingress: `ferry generate` into the same data dir writes through it). Only the
 * data dir's owner can reach it (mode 0600), so it needs no token.
 */
import { chmodSync, rmSync } from "node:fs";
import { DownstreamError, errorMessage, FerryError } from "../errors.ts";
import type { QueryResult } from "../db/duckdb.ts";

export function serveLocal(path: string, run: (sql: string) => Promise<QueryResult>, ingress?: (req: Request) => Response | Promise<Response>): { stop(): void } {
  rmSync(path, { force: true });
  const server = Bun.serve({
    unix: path,
    async fetch(req) {
      if (new URL(req.url).pathname !== "/query") {
        return ingress ? ingress(req) : Response.json({ error: "the ferry holding this data dir takes no orders over its socket (a sink reads them from Kafka)" }, { status: 404 });
      }
      if (req.method !== "POST") return new Response("POST the SQL", { status: 405 });
      try {
        return Response.json(await run(await req.text()));
      } catch (e) {
        return Response.json({ error: errorMessage(e) }, { status: 400 });
      }
    },
  });
  chmodSync(path, 0o600);
  return {
    stop: () => {
      server.stop(true);
      rmSync(path, { force: true });
    },
  };
}

/** A request to the running ferry through its socket (`path` names the route, e.g. /orders). */
export function fetchOverSocket(socket: string, path: string, init: RequestInit): Promise<Response> {
  return fetch(`http://ferry${path}`, { ...init, unix: socket } as RequestInit);
}

export async function queryOverSocket(path: string, sql: string): Promise<QueryResult> {
  let res: Response;
  try {
    res = await fetch("http://ferry/query", { method: "POST", body: sql, unix: path } as RequestInit);
  } catch (e) {
    throw new DownstreamError("ferry", `the running ferry at ${path} does not answer: ${errorMessage(e)}`, { cause: e });
  }
  const body = (await res.json()) as QueryResult & { error?: string };
  if (!res.ok) throw new FerryError(body.error ?? `the running ferry answered ${res.status}`);
  return body;
}
