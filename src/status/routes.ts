/**
 * The status routes every HTTP listener of ferry carries: GET / (the page, src/status/page.ts:
 * static, it asks for sign-in itself when the data answers 401), GET /status.json (one snapshot),
 * GET /status/events (server-sent events: a snapshot at once, then one a second, each an event
 * `status` whose data is the snapshot's JSON; the stream ends when the client goes or the listener
 * stops), POST /login and POST /logout (access.ts).
 */
import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { StatusAccess } from "./access.ts";
import { statusPage, statusPageHeaders } from "./page.ts";
import type { Status } from "./status.ts";

export const STATUS_EVENT = "status";

export function statusRoutes(app: Hono, status: Status, access: StatusAccess): void {
  app.get("/", (c) => c.body(statusPage(), 200, statusPageHeaders()));
  app.get("/status.json", access.guard, (c) => c.body(status.json(), 200, { "Content-Type": "application/json", "Cache-Control": "no-store" }));
  app.get("/status/events", access.guard, (c) => {
    c.header("Cache-Control", "no-store");
    // A proxy (nginx) must not hold the events back.
    c.header("X-Accel-Buffering", "no");
    return streamSSE(c, async (stream) => {
      let stop = () => {};
      const ended = new Promise<void>((resolve) => (stop = resolve));
      let writing = false;
      const send = (json: string) => {
        // A reader slower than a snapshot a second misses one; nothing piles up in memory.
        if (writing || stream.aborted || stream.closed) return;
        writing = true;
        stream.writeSSE({ event: STATUS_EVENT, data: json }).then(
          () => (writing = false),
          () => stop(),
        );
      };
      stream.onAbort(stop);
      c.req.raw.signal.addEventListener("abort", stop, { once: true });
      const unfollow = status.follow({ next: send, end: stop });
      send(status.json());
      await ended;
      unfollow();
    });
  });
  app.post("/login", access.login);
  app.post("/logout", access.logout);
}
