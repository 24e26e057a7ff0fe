import { describe, expect, test } from "bun:test";
import { Availability } from "../../../src/kafka/availability.ts";
import { Dependencies, follow } from "../../../src/status/dependencies.ts";
import { memoryLogger } from "../../helpers/logger.ts";

describe("dependencies", () => {
  test("unknown until told; since moves only when the state changes; the last error stays, on one line, secrets masked", () => {
    let now = Date.UTC(2026, 0, 1);
    const deps = new Dependencies(() => now);
    const kafka = deps.add("kafka", "kafka", "127.0.0.1:9092");
    expect(deps.list()).toEqual([{ name: "kafka", kind: "kafka", target: "127.0.0.1:9092", state: "unknown", since: null, last_error: null }]);
    kafka.up();
    now += 1000;
    kafka.up();
    expect(deps.list()[0]!.since).toBe("2026-01-01T00:00:00.000Z");
    now += 1000;
    kafka.down(new Error("connect ECONNREFUSED 127.0.0.1:9092\n    at stack line"));
    now += 1000;
    kafka.down("postgres://ferry:hunter2@db/lake: password=hunter2 refused");
    const d = deps.list()[0]!;
    expect(d.state).toBe("down");
    expect(d.since).toBe("2026-01-01T00:00:02.000Z");
    expect(d.last_error).toBe("postgres://ferry:***@db/lake: password=*** refused");
    now += 1000;
    kafka.up();
    expect(deps.list()[0]).toMatchObject({ state: "up", since: "2026-01-01T00:00:04.000Z", last_error: "postgres://ferry:***@db/lake: password=*** refused" });
  });

  test("a watched one is read at each poll", () => {
    let answer: { up: true } | { up: false; reason: string } | undefined;
    const deps = new Dependencies();
    deps.add("kafka", "kafka", null, () => answer);
    deps.poll();
    expect(deps.list()[0]!.state).toBe("unknown");
    answer = { up: false, reason: "broker not answering" };
    deps.poll();
    expect(deps.list()[0]).toMatchObject({ state: "down", last_error: "broker not answering" });
    answer = { up: true };
    deps.poll();
    expect(deps.list()[0]!.state).toBe("up");
  });

  test("follow(): an Availability's changes as they happen", () => {
    const { log } = memoryLogger();
    const a = new Availability(log);
    const deps = new Dependencies();
    follow(deps.add("kafka", "kafka", null), a);
    expect(deps.list()[0]!.state).toBe("up");
    a.down("Connection error: ECONNREFUSED");
    expect(deps.list()[0]).toMatchObject({ state: "down", last_error: "Connection error: ECONNREFUSED" });
    a.reached();
    expect(deps.list()[0]!.state).toBe("up");
  });
});
