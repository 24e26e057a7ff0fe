/**
 * The HTTP ingress shared by `ferry serve` (Kafka) and `ferry run` (embedded table): one Hono
 * app over an OrderSink. 202 is answered only once every record of the request is durable.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Logger } from "../log/logger.ts";
import type { FlushObserver } from "../pipeline/coalescer.ts";
import { UnavailableError } from "../pipeline/errors.ts";
import type { OrderSink } from "../pipeline/record-sink.ts";
import { formatIssue, type RecordIssue, validateRecord } from "../schema/issues.ts";
import { OrderSchema, type ReceivedOrder, withReceiveTime } from "../schema/order.ts";
import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http-error.ts";
import { Refusals } from "../status/collectors/refusals.ts";
import { ingressMetrics } from "./metrics.ts";
import { openApiDocument } from "./openapi.ts";
import { readRecords } from "./read-records.ts";

export interface IngressOptions {
  sink: OrderSink;
  bodyLimit: number;
  authTokens: readonly string[];
  /** The check of `authTokens` (see auth.ts), built once by the caller; undefined: open. */
  auth: MiddlewareHandler | undefined;
  /** Records accepted but not yet durable, at most; beyond it a request gets 429. */
  maxInFlight: number;
  log: Logger;
  version: string;
  /** How long clients should wait before retrying a 429/503. */
  retryAfterSeconds?: number;
}

const MAX_REPORTED_ISSUES = 1000;

export function createIngress(opts: IngressOptions) {
  const state = { draining: false, inFlight: 0 };
  const metrics = ingressMetrics(() => state.inFlight);
  /** POST /orders answers other than 202 by reason and field (the status page's). */
  const refusals = new Refusals();
  const checkAuth = opts.auth;
  const retryAfter = String(opts.retryAfterSeconds ?? 1);
  const openapi = JSON.stringify(openApiDocument(opts.version));
  const unavailable = (error: string, seconds = retryAfter) => new HttpError(503, { error }, { "Retry-After": seconds });

  const app = new Hono();

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    metrics.requests.inc({ route: c.req.routePath, status: c.res.status });
    if (c.req.path === "/orders") refusals.noteAnswer(c.res.status, c.error);
    if (opts.log.enabled("info")) {
      opts.log.info("request", { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round((performance.now() - started) * 10) / 10 });
    }
  });

  if (checkAuth) app.use("/orders", checkAuth);
  app.post("/orders", async (c) => {
    if (state.draining) throw unavailable("ferry is shutting down; retry on another instance");
    const receivedAt = new Date();
    const { records: raw, issues: parseIssues } = await readRecords(c.req.raw, opts.bodyLimit);
    const orders: ReceivedOrder[] = [];
    const issues: RecordIssue[] = [];
    raw.forEach((record, index) => {
      const r = validateRecord(OrderSchema, record, index);
      if (r.ok) orders.push(withReceiveTime(r.value, receivedAt));
      else issues.push(...r.issues);
    });
    if (parseIssues.length > 0) {
      issues.push(...parseIssues);
      issues.sort((a, b) => a.index - b.index);
    }
    if (issues.length > 0) {
      const bad = new Set(issues.map((i) => i.index)).size;
      metrics.rejected.inc({ reason: "invalid" }, raw.length);
      throw new HttpError(422, {
        error: `${bad} of ${raw.length} record${raw.length === 1 ? " is" : "s are"} invalid; nothing was written (first: ${formatIssue(issues[0]!)})`,
        issues: issues.slice(0, MAX_REPORTED_ISSUES),
        ...(issues.length > MAX_REPORTED_ISSUES ? { truncated: true } : {}),
      });
    }
    if (!opts.sink.ready()) {
      metrics.rejected.inc({ reason: "unavailable" }, orders.length);
      throw unavailable(`downstream unavailable: ${opts.sink.notReadyReason ?? "not ready"}`);
    }
    if (state.inFlight + orders.length > opts.maxInFlight) {
      metrics.rejected.inc({ reason: "backpressure" }, orders.length);
      throw new HttpError(429, { error: `too many records in flight (limit ${opts.maxInFlight}); retry shortly` }, { "Retry-After": retryAfter });
    }
    state.inFlight += orders.length;
    try {
      await opts.sink.write(orders);
    } catch (e) {
      metrics.rejected.inc({ reason: e instanceof UnavailableError ? "unavailable" : "error" }, orders.length);
      if (e instanceof UnavailableError) throw unavailable(e.message, String(e.retryAfterSeconds));
      throw e;
    } finally {
      state.inFlight -= orders.length;
    }
    metrics.accepted.inc({}, orders.length);
    return c.json({ accepted: orders.length }, 202);
  });

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => {
    if (state.draining) return c.json({ status: "draining" }, 503, { "Retry-After": retryAfter });
    return opts.sink.ready() ? c.json({ status: "ready" }) : c.json({ status: "unavailable", reason: opts.sink.notReadyReason ?? "not ready" }, 503, { "Retry-After": retryAfter });
  });
  app.get("/metrics", (c) => c.text(metrics.registry.render(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }));
  app.get("/openapi.json", (c) => c.body(openapi, 200, { "Content-Type": "application/json" }));

  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    if (err instanceof HttpError) return c.json(err.body, err.status as 400, err.headers);
    if (err instanceof HTTPException) return err.getResponse(); // from Hono's middleware (bearer auth)
    opts.log.error("request failed", { path: c.req.path, error: err });
    return c.json({ error: `internal error: ${err.message}; nothing was acknowledged` }, 500);
  });

  return {
    app,
    metrics,
    /** Stop taking orders (503) and report not ready; requests already in flight finish. */
    startDraining: () => {
      state.draining = true;
    },
    inFlight: () => state.inFlight,
    draining: () => state.draining,
    refusals,
    /**
     * The app for requests over the data dir's local socket (only its owner reaches it): they
     * count as authenticated, so `ferry generate` needs no token.
     */
    localFetch: (req: Request) => {
      if (!checkAuth || opts.authTokens.length === 0) return app.fetch(req);
      const headers = new Headers(req.headers);
      headers.set("authorization", `Bearer ${opts.authTokens[0]}`);
      return app.fetch(new Request(req, { headers }));
    },
    /** Observes each write batch of the sink (see Coalescer's onFlush). */
    observeFlush: ((size, ms, error) => {
      metrics.batchSize.observe(size);
      if (!error) metrics.writeLatency.observe(ms / 1000);
    }) satisfies FlushObserver,
  };
}
