/**
 * A Unix-domain socket in the data dir through which the process that holds ferry.duckdb (DuckDB
 * allows one writer process) answers `ferry query`. Only the data dir's owner can reach it.
 */
import { chmodSync, rmSync } from "node:fs";
import { DownstreamError, errorMessage, FerryError } from "../errors.ts";
import type { QueryResult } from "../db/duckdb.ts";

export function serveQueries(path: string, run: (sql: string) => Promise<QueryResult>): { stop(): void } {
  rmSync(path, { force: true });
  const server = Bun.serve({
    unix: path,
    async fetch(req) {
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
