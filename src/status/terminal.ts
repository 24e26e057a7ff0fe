/**
 * `ferry top`'s screen, as a pure function: what is known (the last status snapshot, the last
 * problem reaching it) and the terminal's size → exactly `rows` lines, none wider than `columns`.
 * Two header lines and a footer stay put; the body (the mode's sections) scrolls. Narrow
 * terminals get the same sections with fewer table columns; text from the server is cleaned of
 * control characters before it reaches the terminal.
 */
import type { StatusSnapshot } from "./types.ts";
import { ago, bar, bytes, clean, compact, count, cut, duration, millis, padEnd, sparkline, table, width, type Column } from "./terminal-text.ts";

export interface TopView {
  /** The server watched, as given (shown on the second line). */
  url: string;
  /** The last snapshot received, if any. */
  snapshot?: StatusSnapshot;
  /** When it was received (ms since the epoch). */
  receivedAt?: number;
  /** Why the last try failed, when it did: one line, since when (ms since the epoch), tries in a row. */
  problem?: { message: string; since: number; tries: number };
  /** Now, ms since the epoch (the age of the data and of the problem are shown). */
  now: number;
  /** Body lines scrolled past. */
  scroll?: number;
}

export interface TopFrame {
  lines: string[];
  /** The furthest the body can scroll (0: it fits). */
  maxScroll: number;
}

type Style = "title" | "heading" | "dim" | "bad" | "warn" | "good";
const SGR: Record<Style, string> = { title: "\x1b[7m", heading: "\x1b[1m", dim: "\x1b[2m", bad: "\x1b[31m", warn: "\x1b[33m", good: "\x1b[32m" };

interface Line {
  text: string;
  style?: Style;
}

const BLANK: Line = { text: "" };
const heading = (text: string): Line => ({ text, style: "heading" });
/** A table whose header row is dim. */
const tableLines = (columns: readonly Column[], rows: readonly (readonly string[])[], w: number, style?: (row: number) => Style | undefined): Line[] =>
  table(columns, rows, w).map((text, i) => ({ text, style: i === 0 ? "dim" : style?.(i - 1) }));

/** Items joined by " · ", wrapped onto as many lines as `w` needs. */
function wrapped(items: readonly string[], w: number, style?: Style): Line[] {
  const lines: Line[] = [];
  let cur = "";
  for (const item of items.map(clean)) {
    const next = cur === "" ? item : `${cur} · ${item}`;
    if (cur !== "" && width(next) > w) {
      lines.push({ text: cur, style });
      cur = item;
    } else cur = next;
  }
  if (cur !== "") lines.push({ text: cur, style });
  return lines;
}

const LIMIT = { refusals: 6, rollups: 5, batches: 5, deadLetters: 5 };

// ─── sections ───────────────────────────────────────────────────────────────────────────────────

function records(s: StatusSnapshot, w: number): Line[] {
  const samples = s.rates.samples;
  const last = samples.at(-1);
  const minute = last ? samples.filter((x) => x.t > last.t - 60) : [];
  const span = last && minute.length > 0 ? Math.min(60, last.t - minute[0]!.t + 1) : 0;
  const avg = (k: "in" | "out") => (span > 0 ? compact(minute.reduce((sum, x) => sum + x[k], 0) / span) : "–");
  const rows = [
    ["in", last ? compact(last.in) : "–", avg("in"), count(s.totals.in)],
    ["out", last ? compact(last.out) : "–", avg("out"), count(s.totals.out)],
    ["rejected", "", "", count(s.totals.rejected)],
  ];
  const cols: Column[] = [{ head: "Records" }, { head: "now/s", align: "right", keep: 2 }, { head: "1m avg/s", align: "right", keep: 1 }, { head: "total", align: "right", keep: 3 }];
  const out = table(cols, rows, w).map((text, i): Line => ({ text, style: i === 0 ? "heading" : i === 3 && s.totals.rejected > 0 ? "warn" : undefined }));
  if (last) {
    // One column a second, as many seconds as fit (the suffix sized for the widest figure).
    const chartWidth = Math.min(300, w - 4 - width(` max ${compact(Math.max(...samples.map((x) => Math.max(x.in, x.out))))}/s`));
    const shown = samples.filter((x) => x.t > last.t - chartWidth);
    const max = Math.max(...shown.map((x) => Math.max(x.in, x.out)));
    const suffix = padEnd(` max ${compact(max)}/s`, w - 4 - chartWidth);
    if (chartWidth >= 5) {
      const byT = (k: "in" | "out") => new Map(samples.map((x) => [x.t, x[k]]));
      out.push({ text: `in  ${sparkline(byT("in"), last.t, chartWidth, max)}${suffix}`, style: "good" });
      out.push({ text: `out ${sparkline(byT("out"), last.t, chartWidth, max)}` });
    }
  }
  return out;
}

function ingress(i: NonNullable<StatusSnapshot["run"]>["ingress"], w: number, topic?: string): Line[] {
  const out: Line[] = [heading(topic === undefined ? "Requests" : `Requests → topic ${clean(topic)}`)];
  const answers = i.requests.map((r) => `${r.status} ×${count(r.count)}`);
  out.push(...wrapped(answers.length > 0 ? answers : ["none yet"], w));
  const load = [`in flight ${count(i.in_flight)} / ${count(i.max_in_flight)}`];
  if (i.queued !== null) load.push(`queued ${count(i.queued)}`);
  if (i.write_latency_ms) load.push(`write p50 ${millis(i.write_latency_ms.p50)}`, `p99 ${millis(i.write_latency_ms.p99)}`);
  out.push(...wrapped(load, w));
  if (i.draining) out.push({ text: cut("draining: new orders get 503", w), style: "warn" });
  if (i.refusals.length > 0) {
    const cols: Column[] = [{ head: "refused" }, { head: "count", align: "right", keep: 3 }, { head: "field", keep: 2 }, { head: "reason", flex: true, keep: 1 }];
    const rows = i.refusals.slice(0, LIMIT.refusals).map((r) => [String(r.status), count(r.count), r.field ?? "", r.reason]);
    out.push(...tableLines(cols, rows, w, () => "warn"));
  }
  return out;
}

function run(r: NonNullable<StatusSnapshot["run"]>, now: string, w: number): Line[] {
  const out = ingress(r.ingress, w);
  out.push(BLANK, heading("Storage"));
  const sizes = [`WAL ${r.wal_bytes === null ? "?" : bytes(r.wal_bytes)}`, `DB ${r.db_bytes === null ? "?" : bytes(r.db_bytes)}`, `${count(r.journal_rows)} rows awaiting rollup`];
  out.push(...wrapped(sizes, w));
  if (r.rollups.length > 0) {
    const cols: Column[] = [{ head: "rollup" }, { head: "rows", align: "right", keep: 3 }, { head: "took", align: "right", keep: 1 }, { head: "error", flex: true, keep: 2 }];
    const rows = r.rollups.slice(0, LIMIT.rollups).map((x) => [ago(x.at, now), count(x.rows), millis(x.ms), x.error ?? ""]);
    out.push(...tableLines(cols, rows, w, (i) => (r.rollups[i]!.error ? "bad" : undefined)));
  }
  return out;
}

function sink(k: NonNullable<StatusSnapshot["sink"]>, now: string, w: number): Line[] {
  const out: Line[] = [];
  const about = [`group ${k.group}`, `topics ${k.topics.join(", ")}`];
  if (k.snapshot !== null) about.push(`catalog snapshot ${k.snapshot}`);
  out.push(...wrapped(about, w));
  const known = k.lag.filter((p) => p.lag !== null);
  const total = known.reduce((sum, p) => sum + p.lag!, 0);
  out.push(BLANK, heading(`Lag · ${known.length === 0 ? "not known yet" : `${count(total)} records behind`}`));
  if (k.lag.length === 0) out.push({ text: "no partitions assigned", style: "dim" });
  else {
    const cols: Column[] = [{ head: "topic", flex: true }, { head: "part", align: "right", keep: 3 }, { head: "next", align: "right", keep: 0 }, { head: "end", align: "right", keep: 1 }, { head: "lag", align: "right", keep: 4 }];
    const num = (n: number | null) => (n === null ? "?" : count(n));
    out.push(...tableLines(cols, k.lag.map((p) => [p.topic, String(p.partition), num(p.next_offset), num(p.high_watermark), num(p.lag)]), w));
  }
  out.push(BLANK, heading("Batches"));
  if (k.batches.length === 0) out.push({ text: "none yet", style: "dim" });
  else {
    const oneTopic = new Set(k.batches.flatMap((b) => b.ranges.map((r) => r.topic))).size <= 1;
    const ranges = (b: (typeof k.batches)[number]) => b.ranges.map((r) => `${oneTopic ? "" : `${r.topic}/`}p${r.partition} ${r.first_offset}–${r.last_offset}`).join(", ");
    const cols: Column[] = [
      { head: "committed" }, { head: "records", align: "right", keep: 5 }, { head: "rows", align: "right", keep: 2 }, { head: "bytes", align: "right", keep: 1 },
      { head: "files", align: "right", keep: 0 }, { head: "took", align: "right", keep: 3 }, { head: "ranges", flex: true, keep: 0 },
    ];
    const rows = k.batches.slice(0, LIMIT.batches).map((b) => [ago(b.at, now), count(b.records), count(b.rows), bytes(b.bytes), b.files === null ? "?" : String(b.files), millis(b.ms), ranges(b)]);
    out.push(...tableLines(cols, rows, w));
  }
  out.push(BLANK, { text: `Dead letters · ${count(k.dead_letters.count)} since start`, style: k.dead_letters.count > 0 ? "warn" : "heading" });
  if (k.dead_letters.last.length > 0) {
    const cols: Column[] = [{ head: "sent" }, { head: "from", keep: 1 }, { head: "reason", flex: true, keep: 2 }];
    const rows = k.dead_letters.last.slice(0, LIMIT.deadLetters).map((d) => [ago(d.at, now), `${d.topic}/${d.partition}@${d.offset}`, d.reason]);
    out.push(...tableLines(cols, rows, w));
  }
  return out;
}

function exportSection(x: NonNullable<StatusSnapshot["export"]>, now: string, w: number): Line[] {
  const out: Line[] = [...wrapped([`${x.source} → topic ${x.topic}`, x.state], w, "heading")];
  const figures = ` ${x.ranges.done}/${x.ranges.total} ranges${x.ranges.in_flight > 0 ? ` · ${x.ranges.in_flight} reading` : ""}`;
  const barWidth = Math.min(40, w - width(figures));
  out.push(barWidth >= 5 ? { text: bar(x.ranges.done, x.ranges.total, barWidth) + figures, style: "good" } : { text: cut(figures.trim(), w) });
  out.push({ text: cut(`${count(x.rows)} rows sent in this run`, w) });
  if (x.checkpoint) {
    const c = x.checkpoint;
    out.push(...wrapped([`checkpoint ${c.file}`, `${c.done_at_start} ranges done at start`, c.saved_at ? `saved ${ago(c.saved_at, now)}` : "not saved yet"], w));
  }
  if (x.state === "failed" || x.state === "interrupted") out.push({ text: cut(`export ${x.state}`, w), style: "bad" });
  return out;
}

function generate(g: NonNullable<StatusSnapshot["generate"]>, w: number): Line[] {
  const out: Line[] = [...wrapped([`→ ${g.target}`, g.state], w, "heading")];
  out.push(...wrapped([`sent ${count(g.sent)}`, `accepted ${count(g.accepted)}`, `refused ${count(g.refused)}`, `in flight ${count(g.in_flight)}`], w));
  if (g.count_limit !== null) {
    const figures = ` ${count(g.sent)}/${count(g.count_limit)}`;
    const barWidth = Math.min(40, w - width(figures));
    if (barWidth >= 5) out.push({ text: bar(g.sent, g.count_limit, barWidth) + figures, style: "good" });
  }
  if (g.rate_limit !== null) out.push({ text: cut(`rate limit ${compact(g.rate_limit)} records/s`, w) });
  if (g.state === "failed") out.push({ text: "generate failed", style: "bad" });
  return out;
}

function dependencies(s: StatusSnapshot, w: number): Line[] {
  if (s.dependencies.length === 0) return [];
  const cols: Column[] = [{ head: "Dependency" }, { head: "state", keep: 3 }, { head: "for", align: "right", keep: 2 }, { head: "target", flex: true, keep: 1 }];
  const since = (at: string | null) => (at === null ? "" : duration((Date.parse(s.now) - Date.parse(at)) / 1000));
  const rows = s.dependencies.map((d) => [d.name, d.state === "down" ? "DOWN" : d.state, since(d.since), d.target ?? ""]);
  const style = (i: number): Style | undefined => (s.dependencies[i]!.state === "down" ? "bad" : s.dependencies[i]!.state === "up" ? "good" : "dim");
  const out = table(cols, rows, w).map((text, i): Line => ({ text, style: i === 0 ? "heading" : style(i - 1) }));
  // The last errors in full (wrapped) under the table: a down one is what the reader came for.
  for (const d of s.dependencies) {
    if (d.last_error === null) continue;
    const lines = wrapText(`${d.name}: ${d.last_error}`, w - 2);
    out.push(...lines.map((text, i): Line => ({ text: `${i === 0 ? "" : "  "}${text}`, style: d.state === "down" ? "bad" : "dim" })));
  }
  return out;
}

function configuration(s: StatusSnapshot, w: number): Line[] {
  const entries = Object.entries(s.config);
  if (entries.length === 0) return [];
  const show = (value: unknown): string =>
    typeof value === "string" ? value : Array.isArray(value) ? (value.length === 0 ? "(none)" : value.map(show).join(", ")) : (JSON.stringify(value) ?? "");
  return tableLines([{ head: "Configuration" }, { head: "", flex: true, keep: 1 }], entries.map(([k, value]) => [k, show(value)]), w).map((l, i) => (i === 0 ? { ...l, style: "heading" } : l));
}

/** The scrolling part: the mode's sections. */
function body(s: StatusSnapshot, w: number): Line[] {
  const sections: Line[][] = [];
  if (s.warnings.length > 0) sections.push(s.warnings.flatMap((x) => wrapText(x.message, w - 2).map((text, i): Line => ({ text: `${i === 0 ? "!" : " "} ${text}`, style: "warn" }))));
  sections.push(records(s, w));
  if (s.run) sections.push(run(s.run, s.now, w));
  if (s.serve) sections.push(ingress(s.serve.ingress, w, s.serve.topic));
  if (s.sink) sections.push(sink(s.sink, s.now, w));
  if (s.export) sections.push(exportSection(s.export, s.now, w));
  if (s.generate) sections.push(generate(s.generate, w));
  sections.push(dependencies(s, w), configuration(s, w));
  return sections.filter((x) => x.length > 0).flatMap((x, i) => (i === 0 ? x : [BLANK, ...x]));
}

/** What to show while nothing was received: connecting, or why it fails. */
function nothingYet(view: TopView, w: number): Line[] {
  if (!view.problem) return [{ text: cut(`connecting to ${clean(view.url)} …`, w), style: "dim" }];
  const p = view.problem;
  const lines: Line[] = wrapText(p.message, w).map((text) => ({ text, style: "bad" }));
  lines.push(BLANK, ...wrapText(`Trying again every second (${p.tries} ${p.tries === 1 ? "try" : "tries"}, for ${duration((view.now - p.since) / 1000)}).`, w).map((text) => ({ text })));
  lines.push(BLANK, ...wrapText("ferry run, serve and sink, and export and generate given --metrics-port, answer GET /status.json on their HTTP port.", w).map((text) => ({ text, style: "dim" as const })));
  return lines;
}

/** Words onto lines of at most `w` columns (a word longer than a line is cut). */
function wrapText(text: string, w: number): string[] {
  const lines: string[] = [];
  let cur = "";
  for (const word of clean(text).split(" ").filter(Boolean)) {
    const next = cur === "" ? word : `${cur} ${word}`;
    if (cur !== "" && width(next) > w) {
      lines.push(cut(cur, w));
      cur = word;
    } else cur = next;
  }
  if (cur !== "") lines.push(cut(cur, w));
  return lines;
}

function header(view: TopView, w: number): [Line, Line] {
  const s = view.snapshot;
  const about = s ? [`${s.mode} ${s.version}`, `up ${duration(s.uptime_s)}`, `${bytes(s.rss_bytes)} RSS`] : [];
  const full = ["ferry top", ...about].join(" · ");
  const title = width(full) <= w || about.length === 0 ? full : about.join(" · ");
  const first = { text: padEnd(cut(clean(title), w), w), style: "title" as const };
  if (view.problem) {
    const stale = s && view.receivedAt !== undefined ? `data ${duration((view.now - view.receivedAt) / 1000)} old · ` : "";
    return [first, { text: cut(stale + clean(view.problem.message), w), style: "bad" }];
  }
  const age = s && view.receivedAt !== undefined ? ` · updated ${view.now - view.receivedAt < 1000 ? "just now" : `${duration((view.now - view.receivedAt) / 1000)} ago`}` : "";
  return [first, { text: cut(clean(view.url) + age, w), style: "dim" }];
}

const styled = (l: Line) => (l.style && l.text !== "" ? `${SGR[l.style]}${l.text}\x1b[0m` : l.text);

/** The screen: exactly `rows` lines, each at most `columns` wide (colours aside). */
export function renderTop(view: TopView, columns: number, rows: number): TopFrame {
  const w = Math.max(1, columns);
  const h = Math.max(1, rows);
  const content = view.snapshot ? body(view.snapshot, w) : nothingYet(view, w);
  const [first, second] = header(view, w);
  if (h < 4) return { lines: [first, second, ...content].slice(0, h).map((l) => styled({ ...l, text: cut(l.text, w) })), maxScroll: 0 };
  const bodyRows = h - 3;
  const maxScroll = Math.max(0, content.length - bodyRows);
  const scroll = Math.max(0, Math.min(view.scroll ?? 0, maxScroll));
  const shown = content.slice(scroll, scroll + bodyRows).map((l) => ({ ...l, text: cut(l.text, w) }));
  while (shown.length < bodyRows) shown.push(BLANK);
  const more = maxScroll === 0 ? "" : ` · ↑↓ scroll (${scroll > 0 ? `${scroll} above` : ""}${scroll > 0 && scroll < maxScroll ? ", " : ""}${scroll < maxScroll ? `${maxScroll - scroll} below` : ""})`;
  const footer: Line = { text: cut(`q quit${more}`, w), style: "dim" };
  return { lines: [first, second, ...shown, footer].map(styled), maxScroll };
}

/** Everything, as plain text `columns` wide with no colours: the header and the sections (for a pipe or a file). */
export function renderText(view: TopView, columns: number): string[] {
  const w = Math.max(1, columns);
  const content = view.snapshot ? body(view.snapshot, w) : nothingYet(view, w);
  return [...header(view, w), ...content].map((l) => cut(l.text, w).trimEnd());
}
