/**
 * `ferry run`'s status: the ingress (its metrics), what waits (in the write-ahead log's queue, in
 * the journal until the next rollup), the write-ahead log's and the databases' sizes (stat, at
 * most once a second), the last rollups into the lake.
 */
import { Recent } from "../recent.ts";
import { oneLine } from "../one-line.ts";
import type { StatusCollector } from "../status.ts";
import type { RollupStatus } from "../types.ts";
import { type IngressView, ingressStatus, ingressTotals } from "./ingress.ts";

export interface RunView {
  ingress: IngressView;
  maxInFlight: number;
  /** Orders waiting for a write slot. */
  waiting(): number;
  journalRows(): number;
  walBytes(): number | undefined;
  dbBytes(): number | undefined;
  rollups: RunRollups;
}

/** The last rollups, told by the embedded sink (its onRollup). */
export class RunRollups {
  private readonly recent = new Recent<RollupStatus>(10);
  constructor(private readonly now: () => number = Date.now) {}
  note(r: { rows: number; ms: number; error?: unknown }): void {
    this.recent.add({ at: new Date(this.now()).toISOString(), rows: r.rows, ms: Math.max(0, Math.round(r.ms)), error: r.error === undefined ? null : oneLine(r.error) });
  }
  list(): RollupStatus[] {
    return this.recent.list();
  }
}

export function runCollector(view: RunView): StatusCollector<"run"> {
  return {
    mode: "run",
    totals: () => ingressTotals(view.ingress),
    section: () => ({
      ingress: ingressStatus(view.ingress, view.maxInFlight, view.waiting),
      wal_bytes: view.walBytes() ?? null,
      db_bytes: view.dbBytes() ?? null,
      journal_rows: view.journalRows(),
      rollups: view.rollups.list(),
    }),
  };
}
