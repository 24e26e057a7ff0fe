/**
 * One process's status: the snapshot of src/status/types.ts, built on demand from the mode's
 * collector (its counters — the same ones /metrics shows — and its recent events), plus what
 * every mode has (version, uptime, the effective configuration, the per-second history of records
 * in and out, the dependencies, warnings).
 *
 * A timer notes the totals once a second (the history) and reads the watched dependencies; when
 * someone follows the events (GET /status/events), it builds one snapshot and hands the same
 * JSON text to every follower. Building a snapshot reads counters and small lists only: no
 * database query, a file's size at most once a second.
 */
import { RateHistory } from "./rates.ts";
import type { Dependencies } from "./dependencies.ts";
import type { StatusMode, StatusSnapshot, StatusWarning } from "./types.ts";

type Totals = StatusSnapshot["totals"];
type Sections = { [M in StatusMode]: NonNullable<StatusSnapshot[M]> };

/** What a mode contributes: its totals, its section, and warnings of its own. */
export interface StatusCollector<M extends StatusMode = StatusMode> {
  readonly mode: M;
  totals(): Totals;
  section(): Sections[M];
  warnings?(): StatusWarning[];
}

export interface StatusOptions<M extends StatusMode> {
  version: string;
  /** The effective configuration, secrets removed (see config.ts). */
  config: Record<string, unknown>;
  collector: StatusCollector<M>;
  dependencies: Dependencies;
  /** Warnings that hold for the process's life (e.g. a listener open beyond loopback). */
  warnings?: StatusWarning[];
  /** When the process started (ms since the epoch; default: this process's start). */
  startedAt?: number;
  now?: () => number;
  rssBytes?: () => number;
  /** How often the totals are noted and followers get a snapshot (tests: shorter). */
  tickMs?: number;
}

export interface Follower {
  /** A snapshot's JSON text. */
  next(json: string): void;
  /** The status closes (the listener is stopping). */
  end(): void;
}

export interface Status {
  snapshot(): StatusSnapshot;
  /** The snapshot's JSON text. */
  json(): string;
  /** Gets the JSON of a snapshot each tick until the returned function is called or the status closes. */
  follow(follower: Follower): () => void;
  readonly followers: number;
  /** Stops the timer and ends every follower. */
  close(): void;
}

export function createStatus<M extends StatusMode>(opts: StatusOptions<M>): Status {
  const now = opts.now ?? Date.now;
  const rss = opts.rssBytes ?? (() => process.memoryUsage.rss());
  const started = opts.startedAt ?? performance.timeOrigin;
  const rates = new RateHistory();
  const followers = new Set<Follower>();
  const startedAt = new Date(started).toISOString();
  const staticWarnings = opts.warnings ?? [];
  const { collector, dependencies } = opts;

  function snapshot(): StatusSnapshot {
    const t = now();
    const warnings = [...staticWarnings, ...(collector.warnings?.() ?? [])];
    return {
      version: opts.version,
      mode: collector.mode,
      now: new Date(t).toISOString(),
      started_at: startedAt,
      uptime_s: Math.max(0, Math.round((t - started) / 100) / 10),
      rss_bytes: Math.max(0, Math.round(rss())),
      config: opts.config,
      totals: collector.totals(),
      rates: { interval_s: 1, samples: rates.list() },
      dependencies: dependencies.list(),
      warnings,
      [collector.mode]: collector.section(),
    } as StatusSnapshot;
  }

  const tick = () => {
    dependencies.poll();
    rates.note(now(), collector.totals());
    if (followers.size === 0) return;
    const json = JSON.stringify(snapshot());
    for (const f of followers) f.next(json);
  };
  rates.note(now(), collector.totals());
  const timer = setInterval(tick, opts.tickMs ?? 1000);
  timer.unref?.();
  let closed = false;

  return {
    snapshot,
    json: () => JSON.stringify(snapshot()),
    follow(follower) {
      if (closed) {
        follower.end();
        return () => {};
      }
      followers.add(follower);
      return () => followers.delete(follower);
    },
    get followers() {
      return followers.size;
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      for (const f of followers) f.end();
      followers.clear();
    },
  };
}
