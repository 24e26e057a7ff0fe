/** Secrets as a value or from a file (src/config/files.ts): SASL, Cassandra and S3 passwords alike. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { secretOf } from "../../../src/config/files.ts";
import { ConfigError } from "../../../src/errors.ts";
import { s3AccessOf } from "../../../src/lake/data-path.ts";

const dir = mkdtempSync(join(tmpdir(), "ferry-secret-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

test("a value, or the file's one line (a trailing newline dropped, nothing else)", () => {
  expect(secretOf("s3cret", undefined, "password")).toBe("s3cret");
  expect(secretOf(undefined, undefined, "password")).toBeUndefined();
  expect(secretOf(undefined, file("a", "from file\n"), "password")).toBe("from file");
  expect(secretOf(undefined, file("b", " spaced \r\n"), "password")).toBe(" spaced ");
});

test("both, or an unreadable file: one clear error naming the flags, never the secret", () => {
  expect(() => secretOf("s3cret", file("c", "other"), "sasl-password")).toThrow(new ConfigError("give the sasl password once: --sasl-password (FERRY_SASL_PASSWORD) or --sasl-password-file, not both"));
  expect(() => secretOf(undefined, join(dir, "missing"), "password")).toThrow(/invalid --password-file ".*missing": cannot read it \(ENOENT\)/);
});

test("the S3 secret from --s3-secret-access-key-file reaches the lake's settings", () => {
  const access = s3AccessOf({ s3Region: "us-east-1", s3AccessKeyId: "id", s3SecretAccessKeyFile: file("d", "key-from-file\n"), s3PathStyle: true });
  expect(access?.secretAccessKey).toBe("key-from-file");
});
