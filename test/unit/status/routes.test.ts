/** The status routes: status.json, the SSE stream's framing, and its end (client gone, or the status closed). */
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import * as v from "valibot";
import { statusAccess } from "../../../src/status/access.ts";
import { Dependencies } from "../../../src/status/dependencies.ts";
import { STATUS_EVENT, statusRoutes } from "../../../src/status/routes.ts";
import { createStatus, type StatusCollector } from "../../../src/status/status.ts";
import { StatusSnapshotSchema } from "../../../src/status/types.ts";

function setup(tickMs = 20) {
  let records = 0;
  const collector: StatusCollector<"generate"> = {
    mode: "generate",
    totals: () => ({ in: records, out: records, rejected: 0 }),
    section: () => ({ target: "test", sent: records, accepted: records, refused: 0, in_flight: 0, rate_limit: null, count_limit: null, state: "running" }),
  };
  const status = createStatus({ version: "test", config: { port: 1 }, collector, dependencies: new Dependencies(), tickMs });
  const app = new Hono();
  statusRoutes(app, status, statusAccess({ tokens: [], bearer: undefined, tls: false }));
  return { status, app, grow: (n: number) => (records += n) };
}

/** Reads SSE frames (`event:`/`data:` lines up to a blank line) from a stream. */
async function* frames(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const lines = buffer.slice(0, end).split("\n");
        buffer = buffer.slice(end + 2);
        yield lines;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

describe("status routes", () => {
  test("GET /status.json is a valid snapshot", async () => {
    const { status, app } = setup();
    const res = await app.request("/status.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { mode: string };
    expect(v.safeParse(StatusSnapshotSchema, body).issues ?? []).toEqual([]);
    expect(body.mode).toBe("generate");
    status.close();
  });

  test("GET /status/events: a snapshot at once, then one a tick, each `event: status` + one data line of JSON; the stream ends when the client goes", async () => {
    const { status, app, grow } = setup();
    const res = await app.request("/status/events");
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    let n = 0;
    const seen: number[] = [];
    for await (const lines of frames(res.body!)) {
      expect(lines.length).toBe(2);
      expect(lines[0]).toBe(`event: ${STATUS_EVENT}`);
      expect(lines[1]!.startsWith("data: {")).toBe(true);
      const snapshot = JSON.parse(lines[1]!.slice("data: ".length));
      expect(v.safeParse(StatusSnapshotSchema, snapshot).success).toBe(true);
      seen.push(snapshot.totals.in);
      grow(5);
      if (++n === 4) break; // the client goes (cancels the body)
    }
    // the stream's cancel (or, at the latest, the next write) unfollows
    for (let i = 0; i < 50 && status.followers > 0; i++) await Bun.sleep(10);
    expect(status.followers).toBe(0);
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)!).toBeGreaterThan(0); // the numbers move
    status.close();
  });

  test("closing the status ends every stream (a stopping listener is not held open)", async () => {
    const { status, app } = setup(1000);
    const res = await app.request("/status/events");
    const it = frames(res.body!);
    expect((await it.next()).done).toBe(false);
    expect(status.followers).toBe(1);
    status.close();
    expect((await it.next()).done).toBe(true);
    expect(status.followers).toBe(0);
  });
});
