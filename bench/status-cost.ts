/**
 * bench/status-cost: what the status page costs `ferry run` under load (issue #22: with the page
 * open, throughput within 2% of the figure without it). `ferry run` under bench/ingest's (d) load
 * (single-order POSTs from wrk, 64 connections), in rounds: with N clients on GET /status/events
 * (the page's live stream, each reading every event as a browser would) and with none. The rounds
 * come in pairs, every K pairs on a fresh `ferry run`, in turns ABBA (none·with, with·none, …), so what
 * drifts (the table and the write-ahead log growing, rollups, other people's jobs on this machine)
 * falls on both alike. Orders/s count 202 answers only.
 * Each round: orders/s, p50/p99, ferry's CPU per order, the events each client got, and how busy
 * the machine was with others' work. Ratio: the median over the pairs of orders/s with clients /
 * without (target ≥ 0.98); the ratio of the two medians beside it.
 * First, idle (no load), ferry's CPU per second with the clients and without: the stream's own
 * cost, a figure other people's jobs on the machine hardly blur (throughput under load they do);
 * over ferry's CPU per second under load it gives a second ratio, by CPU. When the pairs' ratios
 * spread too far (others' jobs), the throughput verdict says "inconclusive" rather than met/missed.
 * Writes bench/results/status-cost.json. Uses dist/ferry.
 *   bun bench/ingest.ts --status-cost [seconds per round (3)] [--clients N (3)] [--pairs P (12)]
 *     [--pairs-per-process K (2)] [--bin PATH (dist/ferry)]
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
const pairs = Number(option("pairs") ?? 12);
const pairsPerProcess = Number(option("pairs-per-process") ?? 2);
const bin = option("bin") ?? FERRY_BIN;
const seconds = Number(args[0] ?? 3);
const CONNECTIONS = 64;
const TARGET = 0.98;
const QUIET_CORES = 0.25;

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

/** ferry's CPU seconds so far (user + system, threads that ended included), from /proc: 10 ms ticks. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ
}

interface Round {
  pair: number;
  with_clients: boolean;
  /** Orders answered 202 per second. */
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
const runArgs = (name: string) => ["run", "--data-dir", join(work, name), "--port", "0"];
console.log(`ferry run, single-order POSTs at ${CONNECTIONS} connections, ${seconds}s a round; ${pairs} pairs of rounds, with ${clients} /status/events clients and without (ABBA)`);

// Idle: ferry's CPU per second without clients and with them, in turns (ABBA, twice).
const idle: { with_clients: boolean; cpu_ms_per_s: number }[] = [];
const IDLE_SECONDS = 15;
await withFerry(
  runArgs("idle"),
  async (url, pid) => {
    await Bun.sleep(20_000); // past start-up's own work (the first maintenance run and rollups of a new lake)
    for (const withClients of [false, true, true, false, false, true, true, false]) {
      const streams = withClients ? openStreams(url, clients) : undefined;
      await Bun.sleep(1500);
      const cpu0 = cpuSeconds(pid);
      await Bun.sleep(IDLE_SECONDS * 1000);
      idle.push({ with_clients: withClients, cpu_ms_per_s: round(((cpuSeconds(pid) - cpu0) * 1000) / IDLE_SECONDS, 2) });
      await streams?.close();
      console.log(`  idle ${withClients ? `with ${clients} clients` : "no clients   "}: ferry ${idle.at(-1)!.cpu_ms_per_s} ms CPU per second`);
    }
  },
  bin,
);

/** One measured round on a running ferry: wrk's load, with the stream's clients or without. */
async function measure(url: string, pid: number, pair: number, withClients: boolean): Promise<Round> {
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
  const result: Round = {
    pair,
    with_clients: withClients,
    orders_per_sec: round(r.okPerSec),
    p50_ms: r.p50ms,
    p99_ms: r.p99ms,
    non2xx: r.non2xx,
    socket_errors: r.errors,
    ferry_cpu_us_per_order: round((ferryCpu / (r.requestsPerSec * seconds)) * 1e6, 2),
    others_busy_cores: round(Math.max(0, busy1 - busy0 - ferryCpu - r.wrkCpuSeconds - selfCpu) / seconds, 2),
  };
  if (streams) {
    result.events_per_client = streams.events.map((n, k) => n - eventsBefore[k]!);
    result.stream_kib_per_client = streams.bytes.map((n, k) => round((n - bytesBefore[k]!) / 1024));
    const snapshot = streams.lastSnapshot();
    if (typeof snapshot?.totals?.in !== "number") throw new Error("a /status/events event carried no snapshot");
    await streams.close();
    if (streams.failures.length > 0) throw new Error(`a /status/events client failed: ${streams.failures.join("; ")}`);
  }
  console.log(
    `  pair ${pair + 1} ${withClients ? `with ${clients} clients` : "no clients   "}: ${result.orders_per_sec} orders/s, p50 ${r.p50ms} ms, p99 ${r.p99ms} ms, ` +
      `ferry ${result.ferry_cpu_us_per_order} µs CPU/order, others ${result.others_busy_cores} cores` +
      (result.events_per_client ? `, events/client ${result.events_per_client.join(" ")}` : "") +
      (r.non2xx > 0 ? `, NON-2XX ${r.non2xx}` : ""),
  );
  return result;
}

// Under load: a fresh `ferry run` (its own data dir) for every few pairs, each pair's two rounds in
// turns. A process takes a few hundred thousand orders at most: past that, its DuckDB (64 MB) runs
// out of memory applying orders and answers fail (a limit of ferry run, not of the status page).
const rounds: Round[] = [];
for (let first = 0; first < pairs; first += pairsPerProcess) {
  await waitForQuiet(30, 0.5);
  await withFerry(
    runArgs(`load-${first}`),
    async (url, pid) => {
      await wrkAsync(url, singleLua, CONNECTIONS, 2); // warm-up (JIT, the table's first pages), not measured
      for (let pair = first; pair < Math.min(pairs, first + pairsPerProcess); pair++) {
        for (const withClients of pair % 2 === 0 ? [false, true] : [true, false]) rounds.push(await measure(url, pid, pair, withClients));
      }
    },
    bin,
  );
}

const of = (withClients: boolean) => rounds.filter((r) => r.with_clients === withClients);
const ordersWith = round(median(of(true).map((r) => r.orders_per_sec)));
const ordersWithout = round(median(of(false).map((r) => r.orders_per_sec)));
const pairRatios = Array.from({ length: pairs }, (_, p) => {
  const [a, b] = [rounds.find((r) => r.pair === p && r.with_clients)!, rounds.find((r) => r.pair === p && !r.with_clients)!];
  return round(a.orders_per_sec / b.orders_per_sec, 4);
});
// The headline: the median of the pairs' ratios (a pair's two rounds share one process and minute).
const ratio = round(median(pairRatios), 4);
const ratioOfMedians = round(ordersWith / ordersWithout, 4);
const cpuRatio = round(median(of(true).map((r) => r.ferry_cpu_us_per_order)) / median(of(false).map((r) => r.ferry_cpu_us_per_order)), 4);
console.log(`orders/s: median ${ordersWith} with ${clients} clients, ${ordersWithout} without (ratio of medians ${ratioOfMedians}); pairs' ratios ${pairRatios.join(", ")}: median ${ratio}`);
console.log(`ferry CPU per order: ratio ${cpuRatio} with / without`);
const idleOf = (withClients: boolean) => round(median(idle.filter((x) => x.with_clients === withClients).map((x) => x.cpu_ms_per_s)), 2);
const streamCpu = round(idleOf(true) - idleOf(false), 2);
console.log(`idle: the stream to ${clients} clients costs ferry ${streamCpu} ms CPU per second (${round(streamCpu / 10, 3)}% of a core): ${idleOf(true)} with, ${idleOf(false)} without`);
// Pairs where others' jobs stayed off the machine in both rounds, when there are enough of them.
const quietPairs = pairRatios.filter((_, p) => rounds.filter((r) => r.pair === p).every((r) => r.others_busy_cores < QUIET_CORES));
const quietRatio = quietPairs.length >= 3 ? round(median(quietPairs), 4) : null;
console.log(`pairs with others' jobs under ${QUIET_CORES} cores in both rounds: ${quietPairs.length}${quietRatio === null ? "" : `, their median ratio ${quietRatio}`}`);
const failedAnswers = rounds.filter((r) => r.non2xx > 0).length;
if (failedAnswers > 0) console.log(`NOTE: ${failedAnswers} round(s) had answers other than 202 (see NON-2XX above): their orders/s count the 202s only`);

// How far apart the pairs' ratios are: when their middle half spans more than twice the margin the
// target allows, other people's jobs drown the difference and the throughput figure cannot tell.
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  return s[Math.floor(at)]! + (s[Math.ceil(at)]! - s[Math.floor(at)]!) * (at - Math.floor(at));
};
const iqr = [round(quantile(pairRatios, 0.25), 4), round(quantile(pairRatios, 0.75), 4)] as const;
const conclusive = iqr[1] - iqr[0] <= 2 * (1 - TARGET);
const throughputVerdict = !conclusive ? "inconclusive (the pairs' ratios spread too far on this machine)" : ratio >= TARGET ? "met" : "MISSED";
// The stream's share of ferry's CPU under load: its idle cost over what ferry spends per second
// under load without clients. If throughput is bound by ferry's CPU, it loses that share.
const loadCpuMsPerS = median(of(false).map((r) => (r.ferry_cpu_us_per_order * r.orders_per_sec) / 1000));
const impliedRatio = round(1 - Math.max(0, streamCpu) / loadCpuMsPerS, 4);
console.log(`pairs' ratios, middle half: ${iqr[0]} – ${iqr[1]}`);
console.log(`ferry under load without clients: ${round(loadCpuMsPerS)} ms CPU per second; the stream's ${streamCpu} ms of it: ratio ${impliedRatio} by CPU`);
console.log(`target: throughput with the page open ≥ ${TARGET} × without: measured ${ratio}: ${throughputVerdict}; by CPU ${impliedRatio}: ${impliedRatio >= TARGET ? "met" : "MISSED"}`);
writeResult("status-cost", {
  binary: bin,
  seconds_per_round: seconds,
  connections: CONNECTIONS,
  clients,
  pairs,
  pairs_per_process: pairsPerProcess,
  orders_per_sec_with_clients: ordersWith,
  orders_per_sec_without: ordersWithout,
  ratio_with_to_without: ratio,
  ratio_of_medians: ratioOfMedians,
  pair_ratios: pairRatios,
  pair_ratios_middle_half: iqr,
  quiet_pairs: quietPairs.length,
  quiet_pairs_median_ratio: quietRatio,
  ferry_cpu_per_order_ratio: cpuRatio,
  idle_cpu_ms_per_s_with_clients: idleOf(true),
  idle_cpu_ms_per_s_without: idleOf(false),
  stream_cpu_ms_per_s: streamCpu,
  load_cpu_ms_per_s_without_clients: round(loadCpuMsPerS),
  ratio_by_cpu: impliedRatio,
  target_ratio: TARGET,
  throughput_verdict: conclusive ? ratio >= TARGET : null,
  cpu_verdict: impliedRatio >= TARGET,
  rounds_with_non2xx: failedAnswers,
  idle,
  rounds,
});
rmSync(work, { recursive: true, force: true });
