/** --auth-token-file: tokens from a file, one per line, read once at start (src/http/config.ts). */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../../src/errors.ts";
import { authTokensOf } from "../../../src/http/config.ts";

const dir = mkdtempSync(join(tmpdir(), "ferry-auth-token-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(text: string): string {
  const path = join(dir, `t${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, text);
  return path;
}

test("without a file, the --auth-token values", () => {
  expect(authTokensOf({ authToken: ["a", "b"] })).toEqual(["a", "b"]);
  expect(authTokensOf({ authToken: [] })).toEqual([]);
});

test("one token per line; one trailing newline (LF or CRLF) is ignored", () => {
  expect(authTokensOf({ authToken: [], authTokenFile: file("secret-1") })).toEqual(["secret-1"]);
  expect(authTokensOf({ authToken: [], authTokenFile: file("secret-1\n") })).toEqual(["secret-1"]);
  expect(authTokensOf({ authToken: [], authTokenFile: file("secret-1\r\n") })).toEqual(["secret-1"]);
  expect(authTokensOf({ authToken: [], authTokenFile: file("secret-1\nsecret-2\n") })).toEqual(["secret-1", "secret-2"]);
  expect(authTokensOf({ authToken: [], authTokenFile: file("secret-1\r\nsecret-2") })).toEqual(["secret-1", "secret-2"]);
});

test("an empty line, an empty file, or a second trailing newline is refused, naming the line, not the tokens", () => {
  for (const [text, line] of [["", 1], ["\n", 1], ["secret-1\n\n", 2], ["secret-1\n\nsecret-2", 2]] as const) {
    const path = file(text);
    expect(() => authTokensOf({ authToken: [], authTokenFile: path })).toThrow(new ConfigError(`invalid --auth-token-file ${JSON.stringify(path)}: line ${line} is empty (one token per line)`));
  }
});

test("a token given both ways, or an unreadable file, is a ConfigError that shows no token", () => {
  const path = file("secret-1\n");
  expect(() => authTokensOf({ authToken: ["flag-secret"], authTokenFile: path })).toThrow(/not both/);
  try {
    authTokensOf({ authToken: ["flag-secret"], authTokenFile: path });
  } catch (e) {
    expect(String(e)).not.toContain("secret-1");
    expect(String(e)).not.toContain("flag-secret");
  }
  expect(() => authTokensOf({ authToken: [], authTokenFile: join(dir, "missing") })).toThrow(/invalid --auth-token-file .*missing": cannot read it \(ENOENT\)/);
});
