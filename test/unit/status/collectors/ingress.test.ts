/** run/serve's ingress status, read from the ingress's own metrics and refusals (real requests through createIngress). */
import { describe, expect, test } from "bun:test";
import { createIngress } from "../../../../src/http/app.ts";
import { bearerAuth } from "../../../../src/http/auth.ts";
import type { OrderSink } from "../../../../src/pipeline/record-sink.ts";
import { ingressStatus, ingressTotals } from "../../../../src/status/collectors/ingress.ts";
import { Refusals } from "../../../../src/status/collectors/refusals.ts";
import { memoryLogger } from "../../../helpers/logger.ts";

const order = (id: string, extra: Record<string, unknown> = {}) => ({ order_id: id, product: "tea", quantity: 1, price: 2.5, ...extra });

function ingress(opts: { ready?: boolean; tokens?: string[] } = {}) {
  const written: unknown[] = [];
  const sink: OrderSink = { write: async (o) => void written.push(...o), ready: () => opts.ready ?? true, close: async () => {} };
  const tokens = opts.tokens ?? [];
  const i = createIngress({ sink, bodyLimit: 1024, authTokens: tokens, auth: bearerAuth(tokens), maxInFlight: 3, log: memoryLogger().log, version: "t" });
  const post = (body: string, headers: Record<string, string> = {}) => i.app.request("/orders", { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  return { i, post, written };
}

describe("ingress status", () => {
  test("answers by status, refusals by reason and field, totals in/out/rejected from the same counters as /metrics", async () => {
    const { i, post } = ingress();
    expect((await post(JSON.stringify([order("1"), order("2")]))).status).toBe(202);
    expect((await post(JSON.stringify([order("3", { price: -1, zz: 1 }), order("4", { quantity: 0, price: -2 })]))).status).toBe(422);
    expect((await post("{"))).toHaveProperty("status", 400);
    expect((await post("x".repeat(5000))).status).toBe(413);
    expect((await i.app.request("/orders", { method: "POST", headers: { "content-type": "text/csv" }, body: "a" })).status).toBe(415);
    expect((await post(JSON.stringify([order("5"), order("6"), order("7"), order("8")]))).status).toBe(429);
    const s = ingressStatus(i, 3, () => 0);
    expect(s.requests).toEqual([
      { status: 202, count: 1 },
      { status: 400, count: 1 },
      { status: 413, count: 1 },
      { status: 415, count: 1 },
      { status: 422, count: 1 },
      { status: 429, count: 1 },
    ]);
    expect(s.refusals).toEqual([
      { status: 422, reason: "must not be negative", field: "price", count: 2 },
      { status: 400, reason: "malformed JSON", field: null, count: 1 },
      { status: 413, reason: "body too large", field: null, count: 1 },
      { status: 415, reason: "unsupported content type", field: null, count: 1 },
      { status: 422, reason: "must be at least 1", field: "quantity", count: 1 },
      { status: 422, reason: "unknown field", field: "zz", count: 1 },
      { status: 429, reason: "too many records in flight", field: null, count: 1 },
    ]);
    expect(s).toMatchObject({ in_flight: 0, max_in_flight: 3, queued: 0, draining: false });
    expect(s.write_latency_ms).toBeNull(); // no flush observed in this test
    // 2 accepted; 2 invalid + 4 over the bound refused (records, as ferry_records_rejected_total counts them)
    expect(ingressTotals(i)).toEqual({ in: 8, out: 2, rejected: 6 });
    expect(i.metrics.accepted.get()).toBe(2);
    i.startDraining();
    expect(ingressStatus(i, 3, () => undefined)).toMatchObject({ draining: true, queued: null });
    expect((await post(JSON.stringify(order("9")))).status).toBe(503);
    expect(ingressStatus(i, 3, () => undefined).refusals).toContainEqual({ status: 503, reason: "shutting down", field: null, count: 1 });
  });

  test("401s and 503s (downstream) are told apart from other refusals; other routes do not count", async () => {
    const { i, post } = ingress({ ready: false, tokens: ["tok"] });
    expect((await post(JSON.stringify(order("1")))).status).toBe(401);
    expect((await post(JSON.stringify(order("1")), { authorization: "Bearer tok" })).status).toBe(503);
    await i.app.request("/nowhere");
    expect(ingressStatus(i, 3, () => 0).refusals).toEqual([
      { status: 401, reason: "missing or invalid token", field: null, count: 1 },
      { status: 503, reason: "downstream unavailable", field: null, count: 1 },
    ]);
  });
});

describe("Refusals", () => {
  test("at most 64 different reasons/fields are kept apart; the rest count as other", () => {
    const r = new Refusals();
    for (let k = 0; k < 100; k++) r.noteAnswer(422, { body: { issues: [{ index: 0, path: `f${k}`, message: `unknown field "f${k}" (ferry never drops fields silently)` }] } });
    const list = r.list();
    expect(list.length).toBe(65);
    expect(list.find((x) => x.reason === "other")).toEqual({ status: 422, reason: "other", field: null, count: 36 });
    expect(list.reduce((n, x) => n + x.count, 0)).toBe(100);
  });
});
