// ferry's status page: reads the snapshots of GET status/events (server-sent events, one a
// second), falls back to polling GET status.json, and shows them. The snapshot's shape is
// src/status/types.ts (StatusSnapshotSchema). Plain DOM, no framework; text is always set as
// text (never as HTML): errors and configuration values come from outside.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const EVENTS_URL = "status/events";
  const JSON_URL = "status.json";
  const LOGIN_URL = "login";
  const STALE_MS = 5000; // no snapshot for this long on an open stream: say so, reconnect
  const POLL_MS = 1000;
  const SIGNED_IN = "ferry-signed-in"; // sessionStorage: this tab signed in with the form (the cookie itself is HttpOnly)
  /** Whether this tab signed in with the form; storage a browser refuses only hides the Sign out button. */
  const signedIn = (value) => {
    try {
      if (value === true) sessionStorage.setItem(SIGNED_IN, "1");
      else if (value === false) sessionStorage.removeItem(SIGNED_IN);
      return sessionStorage.getItem(SIGNED_IN) === "1";
    } catch {
      return false;
    }
  };
  const CHART_SECONDS = 300;
  const CHART_MIN_SECONDS = 60;
  const CHART_W = 600;
  const CHART_H = 160;

  // ─── formatting ──────────────────────────────────────────────────────────────────────────────
  const nf = new Intl.NumberFormat("en-US");
  const nf1 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
  const num = (n) => (n === null || n === undefined ? "–" : nf.format(n));
  const bytes = (n) => {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    let v = n;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${i === 0 ? v : nf1.format(v)} ${units[i]}`;
  };
  const duration = (s) => {
    s = Math.max(0, Math.floor(s));
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    if (d > 0) return `${d} d ${h} h`;
    if (h > 0) return `${h} h ${m} min`;
    if (m > 0) return `${m} min ${sec} s`;
    return `${sec} s`;
  };
  const ms = (n) => (n === null || n === undefined ? "–" : n < 1000 ? `${nf1.format(n)} ms` : `${nf1.format(n / 1000)} s`);
  /** A time of the server's as HH:MM:SS UTC, with how long before the snapshot it was. */
  const clock = (iso) => (iso ? `${iso.slice(11, 19)} UTC` : "–");
  const ago = (iso, nowIso) => {
    if (!iso) return "–";
    const s = (Date.parse(nowIso) - Date.parse(iso)) / 1000;
    return `${clock(iso)} (${duration(s)} ago)`;
  };

  // ─── DOM helpers ─────────────────────────────────────────────────────────────────────────────
  /** el("td", { className: "num" }, "12") — props are DOM properties, except `attrs`. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (k === "attrs") for (const [a, av] of Object.entries(v)) node.setAttribute(a, av);
        else if (k === "dataset") Object.assign(node.dataset, v);
        else node[k] = v;
      }
    }
    for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
    return node;
  }
  const svg = (tag, attrs) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  };

  /** A definition list of [label, value, key, note?]; `key` names the value for tests and `ferry top`'s readers. */
  function setPairs(dl, pairs) {
    dl.replaceChildren(
      ...pairs.map(([label, value, key, note]) =>
        el("div", null, el("dt", null, label), el("dd", { dataset: key ? { key } : {} }, value, note ? el("small", null, ` ${note}`) : null)),
      ),
    );
  }

  /** A table made once (so a reader's focus and scroll survive the updates); `update(rows)` refills its body. */
  function makeTable(caption, columns, emptyText) {
    const tbody = el("tbody");
    const table = el(
      "table",
      null,
      el("caption", null, caption),
      el("thead", null, el("tr", null, ...columns.map((c) => el("th", { scope: "col", className: c.num ? "num" : "" }, c.label)))),
      tbody,
    );
    const wrap = el("div", { className: "scroll", tabIndex: 0, attrs: { role: "region", "aria-label": caption } }, table);
    const empty = el("p", { className: "empty" }, emptyText);
    const box = el("div", null, wrap, empty);
    return {
      node: box,
      update(rows) {
        wrap.hidden = rows.length === 0;
        empty.hidden = rows.length > 0;
        tbody.replaceChildren(
          ...rows.map((cells) =>
            el(
              "tr",
              null,
              ...cells.map((cell, i) => {
                const c = cell && typeof cell === "object" && !(cell instanceof Node) ? cell : { text: cell };
                const cls = [columns[i].num ? "num" : "", c.className ?? ""].join(" ").trim();
                return el("td", cls ? { className: cls } : null, c.text ?? "–");
              }),
            ),
          ),
        );
      },
    };
  }

  function card(id, title, ...children) {
    return el("section", { className: "card", attrs: { "aria-labelledby": `${id}-title` } }, el("h2", { id: `${id}-title` }, title), ...children);
  }
  /** A card across the whole width (wide tables). */
  function wideCard(id, title, ...children) {
    const c = card(id, title, ...children);
    c.classList.add("wide");
    return c;
  }

  /** A batch's partition ranges, by topic: "orders: p0 0–1249, p3 0–1203". */
  function rangesText(ranges) {
    if (ranges.length === 0) return "–";
    const byTopic = new Map();
    for (const r of [...ranges].sort((a, b) => a.partition - b.partition)) {
      if (!byTopic.has(r.topic)) byTopic.set(r.topic, []);
      byTopic.get(r.topic).push(`p${r.partition} ${r.first_offset}–${r.last_offset}`);
    }
    return [...byTopic].map(([topic, parts]) => `${topic}: ${parts.join(", ")}`).join("; ");
  }

  // ─── the chart ───────────────────────────────────────────────────────────────────────────────
  /** The smallest of 1, 2, 5 × 10^k at or above n. */
  function niceMax(n) {
    if (n <= 0) return 10;
    const p = 10 ** Math.floor(Math.log10(n));
    for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
    return 10 * p;
  }

  function drawChart(samples) {
    const chart = $("chart");
    const last = samples.length > 0 ? samples[samples.length - 1].t : 0;
    // The window: the last minute at least, growing with the history up to CHART_SECONDS.
    const have = samples.length > 0 ? last - samples[0].t + 1 : 0;
    const width = Math.min(CHART_SECONDS, Math.max(CHART_MIN_SECONDS, have));
    const first = last - width + 1;
    const shown = samples.filter((s) => s.t >= first);
    const peak = shown.reduce((m, s) => Math.max(m, s.in, s.out), 0);
    const top = niceMax(peak);
    const x = (t) => (((t - first) / (width - 1)) * CHART_W).toFixed(1);
    const y = (v) => (CHART_H - (v / top) * (CHART_H - 4)).toFixed(1);
    const line = (key) => shown.map((s, i) => `${i === 0 ? "M" : "L"}${x(s.t)},${y(s[key])}`).join("");
    const nodes = [$("chart-title"), $("chart-desc")];
    for (const f of [0.25, 0.5, 0.75]) nodes.push(svg("line", { class: "grid-line", x1: 0, x2: CHART_W, y1: y(top * f), y2: y(top * f) }));
    if (shown.length > 0) {
      const firstX = x(shown[0].t);
      const lastX = x(shown[shown.length - 1].t);
      nodes.push(svg("path", { class: "area", d: `M${firstX},${CHART_H}${line("in").replace(/^M/, "L")}L${lastX},${CHART_H}Z` }));
      nodes.push(svg("path", { class: "line-in", d: line("in") }));
      nodes.push(svg("path", { class: "line-out", d: line("out") }));
    }
    chart.replaceChildren(...nodes);
    const span = width >= 60 ? `${Math.round(width / 60)} min` : `${width} s`;
    $("chart-span").textContent = `last ${span}`;
    $("chart-from").textContent = `−${span}`;
    $("chart-peak").textContent = num(peak);
    $("chart-top").textContent = `${num(top)}/s`;
    const lastSample = shown[shown.length - 1];
    $("chart-desc").textContent = lastSample
      ? `Over the ${$("chart-span").textContent}: now ${num(lastSample.in)} in and ${num(lastSample.out)} out per second; peak ${num(peak)} per second.`
      : "No data yet.";
  }

  // ─── sections per mode ───────────────────────────────────────────────────────────────────────
  /** Each mode's cards, made once; `update(snapshot)` refreshes them. */
  const sections = {
    run(s) {
      const ingress = ingressCards();
      const stats = el("dl", { className: "stats" });
      const rollups = makeTable("Last rollups into the lake, newest first", [{ label: "Ended" }, { label: "Rows", num: true }, { label: "Took", num: true }, { label: "Result" }], "No rollup yet.");
      const storage = card("storage", "Storage", stats, rollups.node);
      return {
        nodes: [...ingress.nodes, storage],
        update(s) {
          ingress.update(s.run.ingress, s);
          const r = s.run;
          setPairs(stats, [
            ["Write-ahead log", bytes(r.wal_bytes), "wal_bytes"],
            ["Database", bytes(r.db_bytes), "db_bytes"],
            ["Not yet in the lake", num(r.journal_rows), "journal_rows", "rows"],
          ]);
          rollups.update(r.rollups.map((u) => [ago(u.at, s.now), num(u.rows), ms(u.ms), u.error ? { text: u.error, className: "err" } : "ok"]));
        },
      };
    },
    serve() {
      const ingress = ingressCards();
      return {
        nodes: ingress.nodes,
        update(s) {
          ingress.update(s.serve.ingress, s, [["Topic", s.serve.topic, "topic"]]);
        },
      };
    },
    sink() {
      const lagStats = el("dl", { className: "stats" });
      const lagFacts = el("dl", { className: "pairs" });
      const lag = makeTable("Lag per partition", [{ label: "Topic" }, { label: "Partition", num: true }, { label: "Next offset", num: true }, { label: "End", num: true }, { label: "Lag", num: true }], "No partition assigned.");
      const batches = makeTable(
        "Last batches, newest first",
        [{ label: "#", num: true }, { label: "Committed" }, { label: "Ranges" }, { label: "Records", num: true }, { label: "Rows", num: true }, { label: "Bytes", num: true }, { label: "Files", num: true }, { label: "Took", num: true }],
        "No batch yet.",
      );
      const dlqStats = el("dl", { className: "stats" });
      const dlq = makeTable("Last dead letters, newest first", [{ label: "Sent" }, { label: "From" }, { label: "Reason" }], "None.");
      return {
        nodes: [
          card("lag", "Consumer lag", lagFacts, lagStats, lag.node),
          wideCard("batches", "Batches", batches.node),
          wideCard("dlq", "Dead letters", dlqStats, dlq.node),
        ],
        update(s) {
          const k = s.sink;
          const known = k.lag.filter((p) => p.lag !== null);
          setPairs(lagStats, [
            ["Total lag", known.length > 0 ? num(known.reduce((a, p) => a + p.lag, 0)) : "–", "lag_total", "records"],
            ["Partitions", num(k.lag.length), "partitions"],
          ]);
          setPairs(lagFacts, [
            ["Group", k.group, "group"],
            ["Topics", k.topics.join(", "), "topics"],
            ["Catalog snapshot", num(k.snapshot), "snapshot"],
          ]);
          lag.update(k.lag.map((p) => [p.topic, num(p.partition), num(p.next_offset), num(p.high_watermark), num(p.lag)]));
          batches.update(
            k.batches.map((b) => [
              num(b.sequence),
              ago(b.at, s.now),
              rangesText(b.ranges),
              num(b.records),
              num(b.rows),
              bytes(b.bytes),
              b.files === null ? "–" : b.files === 0 ? "inlined" : num(b.files),
              ms(b.ms),
            ]),
          );
          setPairs(dlqStats, [["Dead letters", num(k.dead_letters.count), "dead_letters"]]);
          dlq.update(k.dead_letters.last.map((d) => [ago(d.at, s.now), `${d.topic}/${d.partition} @ ${d.offset}`, { text: d.reason, className: "err" }]));
        },
      };
    },
    export() {
      const bar = el("progress", { id: "export-progress", max: 1, value: 0 });
      const barText = el("span", { dataset: { key: "ranges" } });
      const progress = el("div", { className: "progress" }, el("label", { htmlFor: "export-progress" }, "Token ranges"), bar, barText);
      const facts = el("dl", { className: "pairs" });
      const stats = el("dl", { className: "stats" });
      const checkpoint = el("dl", { className: "pairs" });
      return {
        nodes: [card("export", "Export", facts, progress, stats, el("h3", null, "Checkpoint"), checkpoint)],
        update(s) {
          const e = s.export;
          bar.max = Math.max(1, e.ranges.total);
          bar.value = e.ranges.done;
          barText.textContent = `${num(e.ranges.done)} / ${num(e.ranges.total)}`;
          setPairs(facts, [
            ["State", e.state, "state"],
            ["From", e.source, "source"],
            ["To topic", e.topic, "topic"],
          ]);
          setPairs(stats, [
            ["Rows sent", num(e.rows), "rows"],
            ["Ranges reading", num(e.ranges.in_flight), "ranges_in_flight"],
          ]);
          setPairs(
            checkpoint,
            e.checkpoint
              ? [
                  ["File", e.checkpoint.file, "checkpoint"],
                  ["Done at start", `${num(e.checkpoint.done_at_start)} ranges`, "done_at_start"],
                  ["Last saved", ago(e.checkpoint.saved_at, s.now), "saved_at"],
                ]
              : [["File", "none (--checkpoint not given)", "checkpoint"]],
          );
        },
      };
    },
    generate() {
      const facts = el("dl", { className: "pairs" });
      const stats = el("dl", { className: "stats" });
      const bar = el("progress", { id: "generate-progress", max: 1, value: 0 });
      const barText = el("span");
      const progress = el("div", { className: "progress" }, el("label", { htmlFor: "generate-progress" }, "Acknowledged of --count"), bar, barText);
      return {
        nodes: [card("generate", "Generate", facts, progress, stats)],
        update(s) {
          const g = s.generate;
          setPairs(facts, [
            ["State", g.state, "state"],
            ["Target", g.target, "target"],
            ["Rate limit", g.rate_limit === null ? "none" : `${num(g.rate_limit)}/s`, "rate_limit"],
          ]);
          setPairs(stats, [
            ["Sent", num(g.sent), "sent"],
            ["Accepted", num(g.accepted), "accepted"],
            ["Refused", num(g.refused), "refused"],
            ["Waiting for an answer", num(g.in_flight), "in_flight"],
          ]);
          progress.hidden = g.count_limit === null;
          if (g.count_limit !== null) {
            bar.max = Math.max(1, g.count_limit);
            bar.value = Math.min(g.accepted, g.count_limit);
            barText.textContent = `${num(g.accepted)} / ${num(g.count_limit)}`;
          }
        },
      };
    },
  };

  /** The HTTP ingress of `run` and `serve`: answers, refusals, what is in flight. */
  function ingressCards() {
    const facts = el("dl", { className: "pairs" });
    const stats = el("dl", { className: "stats" });
    const answers = makeTable("POST /orders by answer", [{ label: "Status", num: true }, { label: "Requests", num: true }], "No request yet.");
    const refusals = makeTable("Refusals by reason and field", [{ label: "Status", num: true }, { label: "Reason" }, { label: "Field" }, { label: "Count", num: true }], "None.");
    return {
      nodes: [card("requests", "Requests", facts, stats, answers.node, el("h3", null, "Refused"), refusals.node)],
      update(i, s, extra = []) {
        setPairs(stats, [
          ["In flight", `${num(i.in_flight)}`, "in_flight", `of ${num(i.max_in_flight)}`],
          ["Queued", num(i.queued), "queued"],
          ["Write latency p50 / p99", i.write_latency_ms ? `${ms(i.write_latency_ms.p50)} / ${ms(i.write_latency_ms.p99)}` : "–", "write_latency"],
        ]);
        setPairs(facts, [["Taking orders", i.draining ? "no: shutting down (503)" : "yes", "draining"], ...extra]);
        answers.update(i.requests.map((a) => [num(a.status), num(a.count)]));
        refusals.update(i.refusals.map((r) => [num(r.status), r.reason, r.field ?? "–", num(r.count)]));
      },
    };
  }

  // ─── the whole snapshot ──────────────────────────────────────────────────────────────────────
  let modeView = null;
  let modeName = null;
  let configText = null;

  const rateOf = (samples, key, n = 5) => {
    const tail = samples.slice(-n);
    return tail.length === 0 ? 0 : Math.round(tail.reduce((a, s) => a + s[key], 0) / tail.length);
  };

  function render(s) {
    if (modeName !== s.mode) {
      modeName = s.mode;
      modeView = sections[s.mode] ? sections[s.mode](s) : { nodes: [], update() {} };
      $("mode-sections").replaceChildren(...modeView.nodes);
      document.title = `ferry ${s.mode} — status`;
      $("openapi").hidden = s.mode !== "run" && s.mode !== "serve"; // the ingress's API; a --metrics-port listener has none
    }
    $("mode").textContent = s.mode;
    $("facts").textContent = `version ${s.version} · up ${duration(s.uptime_s)} · memory ${bytes(s.rss_bytes)} · at ${clock(s.now)}`;

    const warnings = $("warnings");
    warnings.hidden = s.warnings.length === 0;
    $("warning-list").replaceChildren(...s.warnings.map((w) => el("li", { dataset: { code: w.code } }, w.message)));

    const samples = s.rates.samples;
    setPairs($("flow-stats"), [
      ["In", num(rateOf(samples, "in")), "rate_in", "/s"],
      ["Out", num(rateOf(samples, "out")), "rate_out", "/s"],
      ["In since start", num(s.totals.in), "total_in"],
      ["Out since start", num(s.totals.out), "total_out"],
      ["Refused", num(s.totals.rejected), "rejected"],
    ]);
    drawChart(samples);
    modeView.update(s);

    $("deps").replaceChildren(
      ...(s.dependencies.length === 0
        ? [el("li", { className: "empty" }, "None: this mode needs no server.")]
        : s.dependencies.map((d) =>
            el(
              "li",
              { className: "dep", dataset: { kind: d.kind, state: d.state } },
              el(
                "div",
                { className: "dep-head" },
                el("span", { className: "dep-name" }, d.name),
                el("span", { className: `badge badge-${d.state}` }, d.state),
                d.since ? el("span", { className: "dep-since" }, `since ${ago(d.since, s.now)}`) : null,
              ),
              d.target ? el("div", { className: "dep-target" }, d.target) : null,
              d.last_error ? el("p", { className: `dep-error${d.state === "down" ? "" : " past"}` }, d.state === "down" ? d.last_error : `last error: ${d.last_error}`) : null,
            ),
          )),
    );

    setPairs($("proc"), [
      ["Mode", s.mode, "mode"],
      ["Version", s.version, "version"],
      ["Started", clock(s.started_at), "started_at"],
      ["Uptime", duration(s.uptime_s), "uptime"],
      ["Memory (RSS)", bytes(s.rss_bytes), "rss"],
    ]);
    const text = JSON.stringify(s.config);
    if (text !== configText) {
      configText = text;
      setPairs(
        $("config"),
        Object.entries(s.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
      );
    }
  }

  // ─── connection: SSE, polling, login ─────────────────────────────────────────────────────────
  let source = null;
  let staleTimer = 0;
  let retryTimer = 0;
  let failures = 0;
  let lastSnapshotAt = 0;

  function setConn(state, text) {
    const conn = $("conn");
    if (conn.dataset.state === state && $("conn-text").textContent === text) return;
    conn.dataset.state = state;
    $("conn-text").textContent = text;
  }

  function show(snapshot) {
    lastSnapshotAt = Date.now();
    $("login").hidden = true;
    $("status").hidden = false;
    $("logout").hidden = !signedIn();
    try {
      render(snapshot);
      return true;
    } catch (e) {
      // e.g. a ferry of another version whose snapshot lacks a part: say so instead of a blank page
      setConn("error", `Cannot show this snapshot: ${e instanceof Error ? e.message : e}`);
      return false;
    }
  }

  function showLogin() {
    closeSource();
    signedIn(false);
    $("logout").hidden = true;
    setConn("error", "Sign in needed");
    $("status").hidden = true;
    $("login").hidden = false;
    $("token").focus();
  }

  function closeSource() {
    if (source) source.close();
    source = null;
    clearTimeout(staleTimer);
  }

  function armStale() {
    clearTimeout(staleTimer);
    staleTimer = setTimeout(() => {
      closeSource();
      disconnected("No update for 5 s");
    }, STALE_MS);
  }

  /** Opens the event stream; each message is one snapshot. */
  function connect() {
    clearTimeout(retryTimer);
    closeSource();
    if (failures === 0) setConn("connecting", "Connecting…");
    const es = new EventSource(EVENTS_URL);
    source = es;
    armStale();
    const onSnapshot = (ev) => {
      if (source !== es) return;
      let s;
      try {
        s = JSON.parse(ev.data);
      } catch {
        return; // not a snapshot (e.g. a comment line's event): ignore
      }
      failures = 0;
      armStale();
      if (show(s)) setConn("live", "Live");
    };
    es.addEventListener("message", onSnapshot);
    es.addEventListener("status", onSnapshot);
    es.addEventListener("error", () => {
      if (source !== es) return;
      // The browser would retry on its own, but an answer like 401 closes the stream for good:
      // ask status.json what is wrong, and decide.
      closeSource();
      disconnected("Connection lost");
    });
  }

  /** The stream failed: say so, find out why from status.json, and try again with a growing pause. */
  async function disconnected(why) {
    failures++;
    const wait = Math.min(10, 2 ** Math.min(failures - 1, 3)); // 1, 2, 4, 8, 10 s
    const since = lastSnapshotAt ? ` (last update ${Math.round((Date.now() - lastSnapshotAt) / 1000)} s ago)` : "";
    setConn("disconnected", `Disconnected: ${why}${since}; retrying in ${wait} s`);
    const answer = await poll();
    if (answer === "login") return;
    if (answer === "ok") {
      // status.json answers but the stream does not (a proxy that buffers it?): keep polling.
      if (failures >= 3) return startPolling();
      return connect();
    }
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, wait * 1000);
  }

  /** One GET status.json: "ok" (shown), "login" (a token is needed) or "down". */
  async function poll() {
    try {
      const res = await fetch(JSON_URL, { headers: { accept: "application/json" }, cache: "no-store", credentials: "same-origin" });
      if (res.status === 401) {
        showLogin();
        return "login";
      }
      if (!res.ok) return "down";
      show(await res.json());
      return "ok";
    } catch {
      return "down";
    }
  }

  let pollTimer = 0;
  function startPolling() {
    clearInterval(pollTimer);
    setConn("polling", "Polling every second (the event stream failed)");
    let tries = 0;
    pollTimer = setInterval(async () => {
      const answer = await poll();
      if (answer === "login") return clearInterval(pollTimer);
      if (answer === "down") setConn("disconnected", "Disconnected: status.json does not answer; retrying");
      else setConn("polling", "Polling every second (the event stream failed)");
      if (++tries % 30 === 0) {
        // every 30 s, try the stream again
        clearInterval(pollTimer);
        failures = 0;
        connect();
      }
    }, POLL_MS);
  }

  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = $("login-error");
    error.textContent = "";
    const token = $("token").value;
    try {
      const res = await fetch(LOGIN_URL, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams({ token }).toString(),
        credentials: "same-origin",
        redirect: "manual",
      });
      if (res.status === 401 || res.status === 403) {
        error.textContent = "That token is not accepted.";
        return;
      }
      if (!res.ok && res.type !== "opaqueredirect") {
        error.textContent = `Sign-in failed (HTTP ${res.status}).`;
        return;
      }
    } catch {
      error.textContent = "ferry does not answer.";
      return;
    }
    $("token").value = "";
    signedIn(true);
    failures = 0;
    const answer = await poll();
    if (answer === "ok") connect();
    else if (answer === "login") error.textContent = "Signed in, but status.json still asks for the token (are cookies blocked?).";
    else error.textContent = "ferry does not answer.";
  });

  $("logout").addEventListener("click", async () => {
    try {
      await fetch("logout", { method: "POST", headers: { accept: "application/json" }, credentials: "same-origin" });
    } catch {
      // the session ends with the process anyway
    }
    showLogin();
  });

  connect();
})();
