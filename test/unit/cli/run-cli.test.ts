import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bindings from "@duckdb/node-bindings/package.json" with { type: "json" };
import pkg from "../../../package.json" with { type: "json" };
import { MODES } from "../../../src/cli/modes.ts";
import { coerce, formatDuration } from "../../../src/config/load.ts";
import { cli } from "../../helpers/cli.ts";

/** A config error is exactly one line on stderr, exit code 2, nothing on stdout. */
async function expectConfigError(argv: string[], pattern: RegExp, env: Record<string, string> = {}) {
  const r = await cli(argv, env);
  expect(r.code).toBe(2);
  expect(r.out).toBe("");
  expect(r.err.trimEnd().split("\n")).toHaveLength(1);
  expect(r.err).toMatch(pattern);
}

describe("version and help", () => {
  test("--version prints the package version, the platform and DuckDB's version", async () => {
    const duckdb = bindings.version.replace(/-r\.\d+$/, "");
    expect(await cli(["--version"])).toEqual({ code: 0, out: `ferry ${pkg.version} (${process.platform === "win32" ? "windows" : process.platform}-${process.arch}, DuckDB v${duckdb})\n`, err: "" });
  });

  test("--help lists every mode of the contract with a summary", async () => {
    const r = await cli(["--help"]);
    expect(r.code).toBe(0);
    for (const mode of ["run", "serve", "sink", "generate", "export", "consume", "query"]) expect(r.out).toMatch(new RegExp(`^  ${mode} +\\S.+$`, "m"));
  });

  test("no mode at all prints help on stderr with exit 2", async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("Modes:");
  });

  test.each(MODES.map((m) => m.name))("ferry %s --help lists flags with defaults and env names", async (name) => {
    const r = await cli([name, "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toStartWith(`ferry ${name}: `);
    expect(r.out).toContain("--log-level error|warn|notice|info|debug");
    expect(r.out).toContain("(default: notice) [env FERRY_LOG_LEVEL]");
    expect(r.out).toContain("--config FILE");
  });

  test("durations show as written (10s, 2m, 500ms), and read back to the same value", async () => {
    const serve = await cli(["serve", "--help"]);
    expect(serve.out).toMatch(/--produce-timeout DURATION .*\(default: 5s\)/);
    expect(serve.out).toMatch(/--registry-timeout DURATION .*\(default: 30s\)/);
    expect(serve.out).not.toMatch(/DURATION .*\(default: \d+\)/);
    const generate = await cli(["generate", "--help"]);
    expect(generate.out).toMatch(/--produce-timeout DURATION .*\(default: 2m\)/);
    for (const ms of [1, 500, 1000, 1500, 10_000, 60_000, 90_000, 120_000, 3_600_000]) expect(coerce("duration", formatDuration(ms))).toBe(ms);
  });

  test("serve help shows required and defaulted flags", async () => {
    const r = await cli(["serve", "--help"]);
    expect(r.out).toMatch(/--brokers HOST:PORT .*\(required\) \[env FERRY_BROKERS\]/);
    expect(r.out).toMatch(/--port PORT .*\(default: 8080\) \[env FERRY_PORT\]/);
  });

  test("help of a mode via `ferry help <mode>` and via --mode", async () => {
    expect((await cli(["help", "sink"])).out).toStartWith("ferry sink: ");
    expect((await cli(["--mode", "sink", "--help"])).out).toStartWith("ferry sink: ");
  });
});

describe("bad input: one line, exit code 2", () => {
  test("unknown mode suggests the nearest", () => expectConfigError(["serv"], /^ferry: unknown mode "serv"; did you mean "serve"\?/));
  test("unknown mode far from all", () => expectConfigError(["frobnicate"], /unknown mode "frobnicate" \(modes: run, serve/));
  test("unknown flag suggests the nearest", () => expectConfigError(["query", "--fromat", "csv", "select 1"], /unknown flag --fromat for "ferry query"; did you mean --format\?/));
  test("single-dash flag", () => expectConfigError(["query", "-x", "select 1"], /unknown flag -x for "ferry query"/));
  test("--port abc", () => expectConfigError(["serve", "--brokers", "k:9092", "--port", "abc"], /invalid --port "abc": expected an integer from 0 to 65535/));
  test("--port out of range", () => expectConfigError(["serve", "--brokers", "k:9092", "--port=70000"], /invalid --port "70000": expected an integer from 0 to 65535/));
  test("missing --brokers for a Kafka mode", () => expectConfigError(["serve"], /--brokers is required for "ferry serve" \(or set FERRY_BROKERS\)/));
  test("missing --brokers for sink", () => expectConfigError(["sink"], /--brokers is required for "ferry sink"/));
  test("a malformed broker", () => expectConfigError(["serve", "--brokers", "localhost"], /invalid --brokers "localhost": each broker must look like host:port/));
  test("bad enum", () => expectConfigError(["query", "--format", "xml", "select 1"], /invalid --format "xml": expected one of table, csv, json/));
  test("flag without its value", () => expectConfigError(["query", "select 1", "--format"], /flag --format needs a value/));
  test("bad env value names the variable", () => expectConfigError(["serve", "--brokers", "k:1"], /invalid FERRY_PORT "x": expected an integer/, { FERRY_PORT: "x" }));
  test("unexpected positional", () => expectConfigError(["serve", "--brokers", "k:1", "extra"], /unexpected argument "extra" for "ferry serve"/));
  test("bad duration", () => expectConfigError(["sink", "--brokers", "k:1", "--interval", "soon"], /invalid --interval "soon": expected a duration/));
  test("missing SQL for query", () => expectConfigError(["query"], /--sql is required for "ferry query"/));
  test("missing config file", () => expectConfigError(["query", "--config", "/nonexistent/ferry.toml", "select 1"], /cannot read config file \/nonexistent\/ferry.toml/));
});

describe("config precedence: flags > env > file > defaults", () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-cli-"));
  const toml = join(dir, "ferry.toml");
  writeFileSync(toml, 'format = "csv"\nlog-level = "error"\n[query]\nformat = "json"\n[serve]\nport = 9999\n');
  const json = join(dir, "ferry.json");
  writeFileSync(json, JSON.stringify({ format: "csv", port: 8081 }));

  test("defaults apply without anything else", async () => {
    expect((await cli(["query", "select 1 as a"])).out).toContain("(1 row)");
  });
  test("a mode's table in the file overrides its top level", async () => {
    expect((await cli(["query", "--config", toml, "select 1 as a"])).out).toBe('{"a":1}\n');
  });
  test("top-level file keys apply (JSON file, via FERRY_CONFIG)", async () => {
    expect((await cli(["query", "select 1 as a"], { FERRY_CONFIG: json })).out).toBe("a\n1\n");
  });
  test("env beats the file", async () => {
    expect((await cli(["query", "--config", toml, "select 1 as a"], { FERRY_FORMAT: "csv" })).out).toBe("a\n1\n");
  });
  test("a flag beats env", async () => {
    expect((await cli(["query", "--format", "json", "select 1 as a"], { FERRY_FORMAT: "csv" })).out).toBe('{"a":1}\n');
  });
  test("an unknown key in the file is an error with a suggestion", async () => {
    const bad = join(dir, "bad.toml");
    writeFileSync(bad, "formatt = 'csv'\n");
    await expectConfigError(["query", "--config", bad, "select 1"], /unknown key "formatt" in .*bad.toml; did you mean "format"\?/);
  });
  test("a bad value in the file names the file", async () => {
    const bad = join(dir, "bad-port.json");
    writeFileSync(bad, JSON.stringify({ serve: { port: "high" } }));
    await expectConfigError(["serve", "--brokers", "k:1", "--config", bad], /invalid "port" in .*bad-port.json "high": expected an integer/);
  });
  test("broken TOML", async () => {
    const bad = join(dir, "broken.toml");
    writeFileSync(bad, "format = \n");
    await expectConfigError(["query", "--config", bad, "select 1"], /config file .*broken.toml is not valid TOML/);
  });
});

describe("mode selection", () => {
  test("FERRY_MODE selects the mode; the words are its arguments", async () => {
    expect((await cli(["--format", "csv", "select 2 as b"], { FERRY_MODE: "query" })).out).toBe("b\n2\n");
  });
  test("--mode selects the mode", async () => {
    expect((await cli(["--mode=query", "--format", "csv", "select 3 as c"])).out).toBe("c\n3\n");
  });
  test("the first word beats FERRY_MODE", async () => {
    expect((await cli(["query", "--format", "csv", "select 4 as d"], { FERRY_MODE: "serve" })).out).toBe("d\n4\n");
  });
  test("export validates its config before connecting to anything", async () => {
    const exportArgs = ["export", "--cassandra", "h:9042", "--keyspace", "k", "--table", "t", "--brokers", "k:9092", "--topic", "t"];
    expect((await cli([...exportArgs, "--parallel", "0"])).code).toBe(2);
    const bad = await cli([...exportArgs, "--consistency", "SOME"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--consistency");
  });
});

test("an --auth-token a bearer header cannot carry is refused at start-up, without echoing it", async () => {
  const r = await cli(["run", "--port", "0", "--data-dir", "/tmp/ferry-never-created", "--auth-token", "ok-token,has space"]);
  expect(r.code).toBe(2);
  expect(r.err).toBe("ferry: --auth-token number 2 has characters a bearer token cannot carry (allowed: letters, digits and . _ ~ + / - , then = padding)\n");
});
