/**
 * `ferry query` answered by the process that holds the database (`ferry run`, `ferry sink`):
 * each query on a connection of its own to the same database instance, opened for it and
 * closed after it, never on the writer's connection and never under the writer's lock. The SQL
 * is checked and run as a read (read-only-query.ts) within a time limit, at most two at once (a
 * query's wait for its turn counts against its limit).
 */
import { errorMessage, FerryError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { Db, QueryResult } from "./duckdb.ts";
import { lockDown, type LockdownPlaces, type QueryAccess } from "./query-lockdown.ts";
import { formatMs, type QueryLimits, QueryRefusedError, QueryTimeoutError, QueryTooLargeError, readOnlyQuery } from "./read-only-query.ts";

export interface QueryServiceOptions {
  /**
   * What a query may still read once locked down (--query-access locked): the writer's own places,
   * its data dir and the lake's data path (a folder or s3:// prefix), and the lake's S3 access.
   */
  lockdown: LockdownPlaces;
  /** Prepares a query's connection: the lake's catalog (`USE` it, or views of it). */
  offer: (conn: Db) => Promise<void>;
  /** Prepares a query's connection to read the lake and `orders` at a snapshot (time travel); without it, such a query is refused. */
  offerAt?: (conn: Db, at: SnapshotAt) => Promise<void>;
  /** Runs before each query (the writer applies what it acknowledged: a query reads its writes). */
  before?: () => Promise<unknown>;
}

/** How the running ferry answers queries (--query-timeout, --query-max-rows, --query-access). */
export interface QuerySettings {
  timeoutMs: number;
  maxRows: number;
  access: QueryAccess;
}

export const DEFAULT_QUERY_SETTINGS: QuerySettings = { timeoutMs: 30_000, maxRows: 1_000_000, access: "open" };

/** A snapshot of the lake's catalog: by its number, or the one current at a time (RFC 3339). */
export type SnapshotAt = { version: number } | { time: string };

/** What a client asks for (ferry query --timeout, --access, --snapshot, --at): a shorter limit, the locked setting, a snapshot. */
export interface QueryAsk {
  timeoutMs?: number;
  access?: QueryAccess;
  snapshot?: SnapshotAt;
}

export interface QueryService {
  /** Runs `sql` as a read (default limits: DEFAULT_QUERY_SETTINGS), at the lake's newest snapshot or at `at`. */
  (sql: string, limits?: Partial<QueryLimits>, at?: SnapshotAt): Promise<QueryResult>;
  /** Turns the instance's external access off (query-lockdown.ts); irreversible. */
  lockDown(): Promise<void>;
}

/** Queries that run at once (each holds a thread of DuckDB's and one of Bun's while it runs; the writer needs its own). */
const CONCURRENT_QUERIES = 2;

export function queryService(db: Db, opts: QueryServiceOptions): QueryService {
  const turn = createSemaphore(CONCURRENT_QUERIES);
  const run = async (sql: string, limits: Partial<QueryLimits> = {}, at?: SnapshotAt): Promise<QueryResult> => {
    const offerAt = opts.offerAt;
    if (at && !offerAt) throw new QueryRefusedError("the running ferry does not offer the lake at another snapshot (--snapshot, --at): query its catalog directly, with a catalog several processes can attach (sqlite:, postgres://), or once it has stopped");
    const timeoutMs = limits.timeoutMs ?? DEFAULT_QUERY_SETTINGS.timeoutMs;
    const maxRows = limits.maxRows ?? DEFAULT_QUERY_SETTINGS.maxRows;
    const deadline = performance.now() + timeoutMs;
    const late = () =>
      new QueryTimeoutError(
        `the query did not get to run within its time limit of ${formatMs(timeoutMs)} (another query or the writer's work came first): try again, or allow more time (ferry query --timeout; the running ferry's --query-timeout)`,
      );
    let started = false;
    return beforeDeadline(
      deadline,
      late,
      turn(async () => {
        if (performance.now() >= deadline) throw late();
        started = true;
        if (opts.before) await beforeDeadline(deadline, late, opts.before());
        const conn = await db.connect();
        try {
          // Past the deadline, closing the connection interrupts the offer (a catalog's server can be slow to answer).
          const stop = setTimeout(() => conn.close(), Math.max(0, deadline - performance.now()));
          try {
            await opts.offer(conn);
            if (at) await offerAt!(conn, at);
          } finally {
            clearTimeout(stop);
          }
          return await readOnlyQuery(conn, sql, { timeoutMs: Math.max(1, Math.round(deadline - performance.now())), statedMs: timeoutMs, maxRows });
        } catch (e) {
          if (performance.now() >= deadline && !(e instanceof QueryTimeoutError || e instanceof QueryRefusedError || e instanceof QueryTooLargeError)) throw late();
          throw e;
        } finally {
          conn.close();
        }
      }),
      () => !started,
    );
  };
  return Object.assign(run, {
    lockDown: () => lockDown(db, opts.lockdown),
  });
}

/** Runs at most `n` of the functions given at once, the others in turn. */
function createSemaphore(n: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((r) => waiting.push(r));
    else running++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/**
 * `work`, or the error `late()` once `deadline` (performance.now()) has passed first while
 * `waiting()` (default: always; once the work has started, its own limit ends it).
 */
function beforeDeadline<T>(deadline: number, late: () => Error, work: Promise<T>, waiting: () => boolean = () => true): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => (timer = setTimeout(() => waiting() && reject(late()), Math.max(0, deadline - performance.now()))));
  work.catch(() => {}); // an answer after the deadline is dropped
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * The service as the running ferry offers it through its socket, with its settings: locked down
 * at once when they say so (queries wait for it; if it fails, they fail, saying why), a client's
 * shorter time limit honoured, and a client that asks for the locked setting refused by a ferry
 * that runs open.
 */
export function servedQueries(service: QueryService, settings: QuerySettings, log?: Logger): (sql: string, ask?: QueryAsk) => Promise<QueryResult> {
  const ready =
    settings.access === "locked"
      ? service.lockDown().then(
          () => log?.notice("queries locked down: SQL through ferry.sock reaches the data dir and the lake, no other file or URL"),
          (e: unknown) => {
            log?.error("locking queries down failed; every query is refused", { error: e });
            throw new FerryError(`the running ferry refuses queries: locking them down (--query-access locked) failed: ${errorMessage(e)}`, { cause: e });
          },
        )
      : Promise.resolve();
  ready.catch(() => {});
  return async (sql, ask = {}) => {
    if (ask.access === "locked" && settings.access !== "locked") {
      throw new QueryRefusedError("the running ferry answers queries with open access (it was not started with --query-access locked): the locked setting is not available through it");
    }
    await ready;
    return service(sql, { timeoutMs: Math.min(settings.timeoutMs, ask.timeoutMs ?? Infinity), maxRows: settings.maxRows }, ask.snapshot);
  };
}
