/**
 * bench/status-cost: what the status page costs `ferry run` under load (issue #22: with the page
 * open, throughput within 2% of the figure without it). One `ferry run`, bench/ingest's (d) load
 * (single-order POSTs from wrk, 64 connections), in rounds: with N clients on GET /status/events
 * (the page's live stream, each reading every event as a browser would) and with none. The rounds
 * alternate in pairs, ABBA (none·with, with·none, …), so what drifts over the run (the table and
 * the write-ahead log growing, rollups, other people's jobs on this machine) falls on both alike.
 * Each round: orders/s, p50/p99, ferry's CPU per order, the events each client got, and how busy
 * the machine was with others' work. Ratio = median orders/s with clients / without (target ≥ 0.98).
 * First, idle (no load), ferry's CPU per second with the clients and without: the stream's own
 * cost, a figure other people's jobs on the machine hardly blur (throughput under load they do).
 * Writes bench/results/status-cost.json. Uses dist/ferry.
 *   bun bench/ingest.ts --status-cost [seconds per round (10)] [--clients N (3)] [--pairs P (4)] [--bin PATH (dist/ferry)]
 *   bun bench/status-cost.ts …the same
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureWrk, loadScripts, withFerry, wrkAsync } from "./http-load.ts";
import { FERRY_BIN, machineBusySeconds, median, round, waitForQuiet, writeResult } from "./lib.ts";

const args = process.argv.slice(2).filter((a) => a !== "--status-cost");
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
};
const clients = Number(option("clients") ?? 3);
const pairs = Number(option("pairs") ?? 4);
const bin = option("bin") ?? FERRY_BIN;
const seconds = Number(args[0] ?? 10);
const CONNECTIONS = 64;
const TARGET = 0.98;

/** Clients on the status stream: each reads every event (counting them) until closed. */
function openStreams(url: string, n: number) {
  const stop = new AbortController();
  const events = Array.from({ length: n }, () => 0);
  const bytes = Array.from({ length: n }, () => 0);
  let lastEvent = "";
  const reading = Array.from({ length: n }, async (_, k) => {
    const res = await fetch(`${url}/status/events`, { signal: stop.signal, headers: { accept: "text/event-stream" } });
    if (!res.ok || !res.body) throw new Error(`GET /status/events answered ${res.status}`);
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of res.body) {
      bytes[k]! += chunk.byteLength;
      buffered += decoder.decode(chunk, { stream: true });
      for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (/^event: status$/m.test(event)) {
          events[k]!++;
          lastEvent = event;
        }
      }
    }
  });
  const failures: unknown[] = [];
  const settled = Promise.allSettled(reading).then((rs) => rs.forEach((r) => r.status === "rejected" && !stop.signal.aborted && failures.push(r.reason)));
  return {
    events,
    bytes,
    failures,
    /** The last event's snapshot (a check that the stream carries what the page reads). */
    lastSnapshot: () => JSON.parse(/^data: (.*)$/m.exec(lastEvent)?.[1] ?? "null") as { totals?: { in: number } } | null,
    close: async () => {
      stop.abort();
      await settled;
    },
  };
}

/** ferry's CPU seconds so far (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ
}

interface Round {
  pair: number;
  with_clients: boolean;
  orders_per_sec: number;
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  socket_errors: string;
  ferry_cpu_us_per_order: number;
  /** Cores busy with other people's work meanwhile (the machine's busy time less ferry, wrk and this bench). */
  others_busy_cores: number;
  events_per_client?: number[];
  stream_kib_per_client?: number[];
}

const work = mkdtempSync(join(tmpdir(), "ferry-bench-status-cost-"));
ensureWrk();
const { singleLua } = loadScripts(work);
console.log(`ferry run, single-order POSTs at ${CONNECTIONS} connections, ${seconds}s a round; ${pairs} pairs of rounds, with ${clients} /status/events clients and without (ABBA)`);

const rounds: Round[] = [];
/** ferry's CPU while idle, ms per second, without clients and with: the stream's own cost, which contention hardly blurs. */
const idle: { with_clients: boolean; cpu_ms_per_s: number }[] = [];
const IDLE_SECONDS = 10;
await withFerry(["run", "--data-dir", join(work, "run-data"), "--port", "0"], async (url, pid) => {
  for (const withClients of [false, true, true, false]) {
    const streams = withClients ? openStreams(url, clients) : undefined;
    await Bun.sleep(1500);
    const cpu0 = cpuSeconds(pid);
    await Bun.sleep(IDLE_SECONDS * 1000);
    idle.push({ with_clients: withClients, cpu_ms_per_s: round(((cpuSeconds(pid) - cpu0) * 1000) / IDLE_SECONDS, 2) });
    await streams?.close();
    console.log(`  idle ${withClients ? `with ${clients} clients` : "no clients   "}: ferry ${idle.at(-1)!.cpu_ms_per_s} ms CPU per second`);
  }
  // Warm-up (JIT, the table's first pages), not measured.
  await wrkAsync(url, singleLua, CONNECTIONS, 3);
  for (let pair = 0; pair < pairs; pair++) {
    await waitForQuiet(60, 0.5);
    const order = pair % 2 === 0 ? [false, true] : [true, false];
    for (const withClients of order) {
      const streams = withClients ? openStreams(url, clients) : undefined;
      await Bun.sleep(1500); // the clients connected and got their first snapshot; the same pause without
      if (streams && streams.events.some((n) => n === 0)) throw new Error(`a /status/events client got no event in 1.5 s (${streams.events.join(", ")}; ${streams.failures.join("; ")})`);
      const eventsBefore = streams ? [...streams.events] : [];
      const bytesBefore = streams ? [...streams.bytes] : [];
      const [cpu0, busy0, self0] = [cpuSeconds(pid), machineBusySeconds(), process.cpuUsage()];
      const r = await wrkAsync(url, singleLua, CONNECTIONS, seconds);
      const [cpu1, busy1, self1] = [cpuSeconds(pid), machineBusySeconds(), process.cpuUsage(self0)];
      const ferryCpu = cpu1 - cpu0;
      const selfCpu = (self1.user + self1.system) / 1e6;
      const round_: Round = {
        pair,
        with_clients: withClients,
        orders_per_sec: round(r.requestsPerSec),
        p50_ms: r.p50ms,
        p99_ms: r.p99ms,
        non2xx: r.non2xx,
        socket_errors: r.errors,
        ferry_cpu_us_per_order: round((ferryCpu / (r.requestsPerSec * seconds)) * 1e6, 2),
        others_busy_cores: round(Math.max(0, busy1 - busy0 - ferryCpu - r.wrkCpuSeconds - selfCpu) / seconds, 2),
      };
      if (streams) {
        round_.events_per_client = streams.events.map((n, k) => n - eventsBefore[k]!);
        round_.stream_kib_per_client = streams.bytes.map((n, k) => round((n - bytesBefore[k]!) / 1024));
        const snapshot = streams.lastSnapshot();
        if (typeof snapshot?.totals?.in !== "number") throw new Error("a /status/events event carried no snapshot");
        await streams.close();
        if (streams.failures.length > 0) throw new Error(`a /status/events client failed: ${streams.failures.join("; ")}`);
      }
      rounds.push(round_);
      console.log(
        `  pair ${pair + 1} ${withClients ? `with ${clients} clients` : "no clients   "}: ${round_.orders_per_sec} orders/s, p50 ${r.p50ms} ms, p99 ${r.p99ms} ms, ` +
          `ferry ${round_.ferry_cpu_us_per_order} µs CPU/order, others ${round_.others_busy_cores} cores` +
          (round_.events_per_client ? `, events/client ${round_.events_per_client.join(" ")}` : "") +
          (r.non2xx > 0 ? `, non-2xx ${r.non2xx}` : ""),
      );
    }
  }
}, bin);

const of = (withClients: boolean) => rounds.filter((r) => r.with_clients === withClients);
const ordersWith = median(of(true).map((r) => r.orders_per_sec));
const ordersWithout = median(of(false).map((r) => r.orders_per_sec));
const pairRatios = Array.from({ length: pairs }, (_, p) => {
  const [a, b] = [rounds.find((r) => r.pair === p && r.with_clients)!, rounds.find((r) => r.pair === p && !r.with_clients)!];
  return round(a.orders_per_sec / b.orders_per_sec, 4);
});
const ratio = round(ordersWith / ordersWithout, 4);
const cpuRatio = round(median(of(true).map((r) => r.ferry_cpu_us_per_order)) / median(of(false).map((r) => r.ferry_cpu_us_per_order)), 4);
console.log(`orders/s: median ${ordersWith} with ${clients} clients, ${ordersWithout} without; ratio ${ratio} (pairs: ${pairRatios.join(", ")})`);
console.log(`ferry CPU per order: ratio ${cpuRatio} with / without`);
const idleOf = (withClients: boolean) => median(idle.filter((x) => x.with_clients === withClients).map((x) => x.cpu_ms_per_s));
const streamCpu = round(idleOf(true) - idleOf(false), 2);
console.log(`idle: the stream to ${clients} clients costs ferry ${streamCpu} ms CPU per second (${round(streamCpu / 10, 3)}% of a core): ${idleOf(true)} with, ${idleOf(false)} without`);
console.log(`target: throughput with the page open ≥ ${TARGET} × without: ${ratio >= TARGET ? "met" : "MISSED"}`);
writeResult("status-cost", {
  binary: bin,
  seconds_per_round: seconds,
  connections: CONNECTIONS,
  clients,
  pairs,
  orders_per_sec_with_clients: ordersWith,
  orders_per_sec_without: ordersWithout,
  ratio_with_to_without: ratio,
  pair_ratios: pairRatios,
  ferry_cpu_per_order_ratio: cpuRatio,
  idle_cpu_ms_per_s_with_clients: idleOf(true),
  idle_cpu_ms_per_s_without: idleOf(false),
  stream_cpu_ms_per_s: streamCpu,
  idle,
  target_ratio: TARGET,
  met: ratio >= TARGET,
  rounds,
});
rmSync(work, { recursive: true, force: true });
