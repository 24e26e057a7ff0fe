/**
 * The HTTP contract, shared by every ingress mode (serve → Kafka, run → embedded table): each
 * mode's test calls `describeIngressContract` with a way to start ferry and to read back what
 * became durable. Every row of the contract table has a test here.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { type FerryProcess, order, postOrders } from "../../helpers/ferry-process.ts";
import { SERVER_HOOK_TIMEOUT } from "../../helpers/servers.ts";

export interface IngressUnderTest {
  ferry: FerryProcess;
  /** Durable orders by order_id (the latest version of each), as stored downstream. */
  readBack(ids: string[]): Promise<Map<string, Record<string, unknown>>>;
  close(): Promise<void>;
}

export const TOKEN = "s3cret-token";
export const BODY_LIMIT = 4096;

/** `start(args)` must run ferry with these extra args: --auth-token TOKEN --body-limit BODY_LIMIT. */
export function describeIngressContract(mode: string, start: () => Promise<IngressUnderTest>) {
  describe(`${mode}: HTTP contract`, () => {
    let it: IngressUnderTest;
    let url: string;
    const post = (body: unknown, init: Parameters<typeof postOrders>[2] = {}) => postOrders(url, body, { token: TOKEN, ...init });
    const uid = (s: string) => `${mode}-${s}-${Math.random().toString(36).slice(2, 8)}`;

    beforeAll(async () => {
      it = await start();
      url = it.ferry.url;
    }, SERVER_HOOK_TIMEOUT);
    afterAll(async () => {
      await it?.close();
    }, SERVER_HOOK_TIMEOUT);

    test("one JSON object → 202 {accepted: 1}, durable with every field and ordered_at defaulted", async () => {
      const before = Date.now();
      const o = order(uid("one"), { customer_id: "c-7" });
      const res = await post(o);
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ accepted: 1 });
      const got = (await it.readBack([o.order_id])).get(o.order_id)!;
      expect(got).toMatchObject({ order_id: o.order_id, product: o.product, quantity: o.quantity, price: o.price, customer_id: "c-7" });
      const at = Date.parse(String(got.ordered_at));
      expect(at).toBeGreaterThanOrEqual(before - 1000);
      expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    });

    test("a JSON array → every record durable, ordered_at kept when given", async () => {
      const orders = Array.from({ length: 25 }, (_, i) => order(uid(`arr${i}`), { ordered_at: "2026-03-04T05:06:07.123Z", price: i + 0.25 }));
      const res = await post(orders);
      expect(await res.json()).toEqual({ accepted: 25 });
      expect(res.status).toBe(202);
      const got = await it.readBack(orders.map((o) => o.order_id));
      for (const o of orders) {
        expect(got.get(o.order_id)).toMatchObject({ product: o.product, quantity: o.quantity, price: o.price });
        expect(Date.parse(String(got.get(o.order_id)!.ordered_at))).toBe(Date.parse(o.ordered_at));
      }
    });

    test("NDJSON → every line durable", async () => {
      const orders = Array.from({ length: 10 }, (_, i) => order(uid(`nd${i}`)));
      const res = await post(null, { contentType: "application/x-ndjson", raw: `${orders.map((o) => JSON.stringify(o)).join("\n")}\n` });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ accepted: 10 });
      expect((await it.readBack(orders.map((o) => o.order_id))).size).toBe(10);
    });

    test("malformed JSON → 400 saying where, nothing written", async () => {
      const id = uid("bad");
      const res = await post(null, { raw: `{"order_id": "${id}", "product": "x",, }` });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: string; line: number; column: number };
      expect(body.error).toMatch(/^malformed JSON at line 1, column \d+: expected a quoted field name$/);
      expect(body.line).toBe(1);
      expect((await it.readBack([id])).size).toBe(0);
    });

    test("a body with bytes that are not UTF-8 → 400 naming the byte offset, nothing written (never U+FFFD)", async () => {
      const good = order(uid("utf8ok"));
      const bad = order(uid("utf8bad"));
      const head = Buffer.from(`${JSON.stringify(good)}\n{"order_id":"${bad.order_id}","product":"caf`);
      const body = Buffer.concat([head, Buffer.from([0xe9]), Buffer.from(`","quantity":1,"price":1}\n`)]); // latin-1 é
      const res = await fetch(`${url}/orders`, { method: "POST", headers: { "content-type": "application/x-ndjson", authorization: `Bearer ${TOKEN}` }, body });
      expect(res.status).toBe(400);
      const answer = (await res.json()) as { error: string; offset: number };
      expect(answer.offset).toBe(head.length);
      expect(answer.error).toBe(`the body is not valid UTF-8: invalid byte sequence at byte offset ${head.length}; nothing was written`);
      expect((await it.readBack([good.order_id, bad.order_id])).size).toBe(0);
    });

    test("an ordered_at before 1900 → 422 saying why (Spark could not read it from the lake), nothing written", async () => {
      const o = order(uid("old"), { ordered_at: "1500-01-01T00:00:00Z" });
      const res = await post(o);
      expect(res.status).toBe(422);
      const body = (await res.json()) as { issues: unknown[] };
      expect(body.issues).toEqual([{ index: 0, path: "ordered_at", message: "must not be before 1900-01-01T00:00:00Z (Spark refuses older Parquet timestamps by default)" }]);
      expect((await it.readBack([o.order_id])).size).toBe(0);
    });

    test("NDJSON with a broken line → 400 naming the line, nothing written", async () => {
      const good = order(uid("ndok"));
      const res = await post(null, { contentType: "application/x-ndjson", raw: `${JSON.stringify(good)}\n{"order_id": "x"\n` });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/^malformed JSON on line 2, column \d+: unexpected end of input$/);
      expect((await it.readBack([good.order_id])).size).toBe(0);
    });

    test("several invalid records → 422 listing each index, path and message; nothing written", async () => {
      const good = order(uid("ok"));
      const res = await post([good, { ...order(uid("b1")), quantity: 0 }, good, { ...order(uid("b2")), price: -1, extra: true }, { product: "x", quantity: 1, price: 1 }]);
      expect(res.status).toBe(422);
      const body = (await res.json()) as { error: string; issues: unknown[] };
      expect(body.error).toStartWith("3 of 5 records are invalid; nothing was written");
      expect(body.issues).toEqual([
        { index: 1, path: "quantity", message: "must be at least 1" },
        { index: 3, path: "price", message: "must not be negative" },
        { index: 3, path: "extra", message: 'unknown field "extra" (ferry never drops fields silently)' },
        { index: 4, path: "order_id", message: "is required" },
      ]);
      expect((await it.readBack([good.order_id])).size).toBe(0);
    });

    test("a body just over the limit → 413, and one at the limit is read", async () => {
      const base = order(uid("big"));
      const pad = (n: number) => JSON.stringify({ ...base, product: "p".repeat(n) });
      const at = pad(0).length;
      // Orders have a 200-char product limit, so the limit is crossed with whitespace.
      const exact = `${pad(10)}${" ".repeat(BODY_LIMIT - pad(10).length)}`;
      expect(exact.length).toBe(BODY_LIMIT);
      expect(at).toBeLessThan(BODY_LIMIT);
      const ok = await post(null, { raw: exact });
      expect(ok.status).toBe(202);
      const over = await post(null, { raw: `${exact} ` });
      expect(over.status).toBe(413);
      expect(((await over.json()) as { error: string }).error).toBe(`request body is larger than the limit of ${BODY_LIMIT} bytes`);
    });

    test("a client that sends its whole (too large) body before reading gets to read the 413, not a broken pipe", async () => {
      const body = Buffer.from(JSON.stringify({ ...order(uid("eager")), product: "x" }) + " ".repeat(2 * 1024 * 1024));
      const { hostname, port } = new URL(url);
      const answer = await new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const socket = connect({ host: hostname, port: Number(port) }, () => {
          socket.write(`POST /orders HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${body.length}\r\n\r\n`);
          socket.write(body); // all of it, as Python's http.client does, before reading anything
        });
        socket.on("data", (d: Buffer) => {
          chunks.push(d);
          if (Buffer.concat(chunks).includes("bytes\"}")) socket.end();
        });
        socket.on("error", reject);
        socket.on("close", () => resolve(Buffer.concat(chunks).toString()));
      });
      expect(answer).toStartWith("HTTP/1.1 413");
      expect(answer).toContain(`request body is larger than the limit of ${BODY_LIMIT} bytes`);
    });

    test("a chunked body over the limit → 413 (no Content-Length to trust)", async () => {
      const big = JSON.stringify({ ...order(uid("chunk")), product: "x" }) + " ".repeat(BODY_LIMIT);
      const stream = new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(big.slice(0, 1000)));
          c.enqueue(new TextEncoder().encode(big.slice(1000)));
          c.close();
        },
      });
      const res = await fetch(`${url}/orders`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` }, body: stream });
      expect(res.status).toBe(413);
    });

    test("another content type → 415", async () => {
      const res = await post(null, { contentType: "text/csv", raw: "order_id,product\n1,x\n" });
      expect(res.status).toBe(415);
      expect(((await res.json()) as { error: string }).error).toContain('unsupported content type "text/csv"');
    });

    test("auth configured: none or wrong token → 401, health endpoints stay open", async () => {
      const o = order(uid("auth"));
      const none = await postOrders(url, o);
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toContain("Bearer");
      expect(await none.json()).toEqual({ error: "missing bearer token (Authorization: Bearer <token>)" });
      const wrong = await postOrders(url, o, { token: "nope" });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toEqual({ error: "invalid bearer token" });
      const malformed = await fetch(`${url}/orders`, { method: "POST", headers: { "content-type": "application/json", authorization: "Basic dXNlcjpwYXNz" }, body: JSON.stringify(o) });
      expect(malformed.status).toBe(400);
      expect(((await malformed.json()) as { error: string }).error).toStartWith("malformed Authorization header");
      expect((await it.readBack([o.order_id])).size).toBe(0);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    });

    test("a later record with the same order_id replaces the earlier", async () => {
      const id = uid("dup");
      expect((await post([order(id, { quantity: 1 }), order(id, { quantity: 2 })])).status).toBe(202);
      expect((await post(order(id, { quantity: 3 }))).status).toBe(202);
      expect((await it.readBack([id])).get(id)).toMatchObject({ quantity: 3 });
    });

    test("concurrent single-order posts are all durable (coalesced batches)", async () => {
      const orders = Array.from({ length: 300 }, (_, i) => order(uid(`c${i}`)));
      const statuses = await Promise.all(orders.map((o) => post(o).then((r) => r.status)));
      expect(statuses.every((s) => s === 202)).toBe(true);
      expect((await it.readBack(orders.map((o) => o.order_id))).size).toBe(300);
    });

    test("/metrics counts requests by route and status, records, latency, batch sizes", async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toMatch(/^ferry_http_requests_total\{route="\/orders",status="202"\} \d+$/m);
      expect(text).toMatch(/^ferry_http_requests_total\{route="\/orders",status="422"\} 2$/m);
      expect(text).toMatch(/^ferry_records_accepted_total \d+$/m);
      expect(text).toMatch(/^ferry_records_rejected_total\{reason="invalid"\} 6$/m);
      expect(text).toMatch(/^ferry_write_latency_seconds_count \d+$/m);
      expect(text).toMatch(/^ferry_write_batch_records_bucket\{le="\+Inf"\} \d+$/m);
      expect(text).toMatch(/^ferry_records_in_flight 0$/m);
    });

    test("what no store can hold unchanged → 422 naming the field (unpaired surrogate, a number that changes, a UTC date past 9999, a key given twice), nothing written; then ferry still takes orders", async () => {
      const ids = ["u", "n", "t", "k"].map((s) => uid(`hostile-${s}`));
      const raw = [
        `{"order_id":"${ids[0]}","product":"\\ud800","quantity":1,"price":1}`,
        `{"order_id":"${ids[1]}","product":"x","quantity":1,"price":1e-401}`,
        `{"order_id":"${ids[2]}","product":"x","quantity":1,"price":1,"ordered_at":"9999-12-31T23:59:59-23:59"}`,
        `{"order_id":"${ids[3]}","product":"x","quantity":1,"price":1,"price":2}`,
      ].join("\n");
      const res = await post(null, { contentType: "application/x-ndjson", raw });
      expect(res.status).toBe(422);
      const body = (await res.json()) as { issues: { index: number; path: string; message: string }[] };
      expect(body.issues.map((i) => [i.index, i.path])).toEqual([
        [0, "product"],
        [1, "price"],
        [2, "ordered_at"],
        [3, "price"],
      ]);
      expect(body.issues[3]!.message).toMatch(/^is given twice/);
      expect(body.issues[0]!.message).toMatch(/unpaired surrogate/);
      expect(body.issues[1]!.message).toMatch(/1e-401 cannot be stored as written: it reads as 0/);
      const good = order(uid("after-hostile"));
      expect((await post(good)).status).toBe(202);
      const back = await it.readBack([...ids, good.order_id]);
      expect([...back.keys()]).toEqual([good.order_id]);
    });

    test("/openapi.json is OpenAPI 3.1 with the Order schema derived from valibot", async () => {
      const doc = (await (await fetch(`${url}/openapi.json`)).json()) as any;
      expect(doc.openapi).toBe("3.1.0");
      expect(doc.components.schemas.Order.required).toEqual(["order_id", "product", "quantity", "price"]);
      expect(doc.components.schemas.Order.properties.price.multipleOf).toBe(0.01);
      expect(Object.keys(doc.paths["/orders"].post.responses)).toEqual(["202", "400", "401", "413", "415", "422", "429", "503"]);
    });

    test("unknown route → 404 JSON", async () => {
      const res = await fetch(`${url}/nope`);
      expect(res.status).toBe(404);
    });
  });
}
