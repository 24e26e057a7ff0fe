/** A small Prometheus registry: counters, gauges and histograms with labels, rendered as text. */

export type Labels = Record<string, string | number>;
const key = (labels: Labels) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}="${String(v).replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`)
    .join(",");

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  private readonly labelSets = new Map<string, Labels>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    const was = this.values.get(k);
    if (was === undefined) this.labelSets.set(k, labels);
    this.values.set(k, (was ?? 0) + by);
  }
  /** Every label set counted so far, with its value (the status page reads the same counts as /metrics). */
  *entries(): IterableIterator<[Labels, number]> {
    for (const [k, n] of this.values) yield [this.labelSets.get(k)!, n];
  }
  /** The sum over every label set. */
  total(): number {
    let sum = 0;
    for (const n of this.values.values()) sum += n;
    return sum;
  }
  get(labels: Labels = {}): number {
    return this.values.get(key(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return lines.join("\n");
  }
}

/** A value read when rendered: one number, or one per label set (e.g. lag per partition). */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number | [Labels, number][],
  ) {}
  /** What /metrics would show now. */
  value(): number | [Labels, number][] {
    return this.read();
  }
  render(): string {
    const value = this.read();
    const samples = typeof value === "number" ? [`${this.name} ${value}`] : value.map(([l, n]) => `${this.name}{${key(l)}} ${n}`);
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, ...samples].join("\n");
  }
}

export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.counts[i]!++;
  }
  /** The upper bound of the bucket holding the q-quantile (the last bound when it lies beyond), or undefined before any observation. */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = q * this.count;
    for (let i = 0; i < this.buckets.length; i++) if (this.counts[i]! >= rank) return this.buckets[i]!;
    return this.buckets[this.buckets.length - 1];
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines.join("\n");
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  add<M extends Metric>(m: M): M {
    this.metrics.push(m);
    return m;
  }
  render(): string {
    return `${this.metrics.map((m) => m.render()).join("\n")}\n`;
  }
}

/** The metrics of the HTTP ingress. */
export function ingressMetrics(inFlight: () => number) {
  const registry = new Registry();
  return {
    registry,
    requests: registry.add(new Counter("ferry_http_requests_total", "HTTP requests by route and status.")),
    accepted: registry.add(new Counter("ferry_records_accepted_total", "Records acknowledged to clients (durable).")),
    rejected: registry.add(new Counter("ferry_records_rejected_total", "Records refused, by reason.")),
    writeLatency: registry.add(
      new Histogram("ferry_write_latency_seconds", "Time from a batch closing to its records being durable.", [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
    ),
    batchSize: registry.add(new Histogram("ferry_write_batch_records", "Records per write batch.", [1, 5, 10, 50, 100, 500, 1000, 5000, 10000])),
    inFlight: registry.add(new Gauge("ferry_records_in_flight", "Records accepted for writing but not yet durable.", inFlight)),
  };
}
export type IngressMetrics = ReturnType<typeof ingressMetrics>;
