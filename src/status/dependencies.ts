/**
 * The servers a mode depends on (Kafka, the catalog, lake storage, Cassandra, a registry, an
 * ingress) as the status shows them: up, down or not tried yet, since when, and the last error.
 * A mode tells each one's state when it learns it (a batch committed: the catalog is up; a send
 * failed: Kafka is down), or gives a function read once a second (e.g. Kafka's Availability).
 */
import type { Dependency } from "./types.ts";
import { oneLine } from "./one-line.ts";

type Kind = Dependency["kind"];
type State = Dependency["state"];

export class DependencyState {
  private state: State = "unknown";
  private since: number | undefined;
  private lastError: string | undefined;

  constructor(
    readonly name: string,
    readonly kind: Kind,
    readonly target: string | null,
    private readonly now: () => number,
  ) {}

  /** It answered. */
  up(): void {
    if (this.state === "up") return;
    this.state = "up";
    this.since = this.now();
  }

  /** It failed (the error is kept, on one line, also once it is up again). */
  down(error: unknown): void {
    this.lastError = oneLine(error);
    if (this.state === "down") return;
    this.state = "down";
    this.since = this.now();
  }

  get current(): State {
    return this.state;
  }

  toJSON(): Dependency {
    return {
      name: this.name,
      kind: this.kind,
      target: this.target,
      state: this.state,
      since: this.since === undefined ? null : new Date(this.since).toISOString(),
      last_error: this.lastError ?? null,
    };
  }
}

/** Read once a second: up, or down with why; undefined: nothing known (the state stays). */
export type DependencyWatch = () => { up: true } | { up: false; reason: string } | undefined;

export class Dependencies {
  private readonly all: { dep: DependencyState; watch?: DependencyWatch }[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  add(name: string, kind: Kind, target: string | null, watch?: DependencyWatch): DependencyState {
    const dep = new DependencyState(name, kind, target, this.now);
    this.all.push({ dep, watch });
    return dep;
  }

  /** Reads the watched ones. */
  poll(): void {
    for (const { dep, watch } of this.all) {
      const seen = watch?.();
      if (seen === undefined) continue;
      if (seen.up) dep.up();
      else dep.down(seen.reason);
    }
  }

  list(): Dependency[] {
    return this.all.map(({ dep }) => dep.toJSON());
  }
}

/** What src/kafka/availability.ts tells (kept structural: the status does not import Kafka's code). */
export interface AvailabilityLike {
  readonly up: boolean;
  readonly reason: string | undefined;
  onChange(listener: (up: boolean, reason?: string) => void): void;
}

/** A dependency that follows an Availability from now on: up (or down) as it is, then each change as it happens. */
export function follow(dep: DependencyState, availability: AvailabilityLike): void {
  if (availability.up) dep.up();
  else dep.down(availability.reason ?? "unreachable");
  availability.onChange((up, reason) => (up ? dep.up() : dep.down(reason ?? "unreachable")));
}
