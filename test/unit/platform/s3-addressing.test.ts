/** How ferry addresses an S3 bucket (src/platform/s3.ts): path-style or virtual-host style, resolved once. */
import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../../src/errors.ts";
import { bucketUrl, pathStyleFor } from "../../../src/platform/s3.ts";
import { s3AccessOf } from "../../../src/lake/data-path.ts";

describe("pathStyleFor: automatic unless forced", () => {
  test("an IP-address endpoint (v4, v6 in brackets) or localhost: path-style", () => {
    expect(pathStyleFor("http://127.0.0.1:9000")).toBe(true);
    expect(pathStyleFor("http://10.1.2.3")).toBe(true);
    expect(pathStyleFor("https://[::1]:9000")).toBe(true);
    expect(pathStyleFor("http://[fd00::12]/")).toBe(true);
    expect(pathStyleFor("http://localhost")).toBe(true);
    expect(pathStyleFor("http://localhost:9000")).toBe(true);
    expect(pathStyleFor("http://LOCALHOST:9000/")).toBe(true);
    expect(pathStyleFor("127.0.0.1:9000")).toBe(true); // no scheme: read as https://, as Bun's client does
    expect(pathStyleFor("http://2130706433:9000")).toBe(true); // 127.0.0.1 spelt as one number is still an IP
  });

  test("a host name, or AWS itself (no endpoint): virtual-host style", () => {
    expect(pathStyleFor("http://minio.internal:9000")).toBe(false);
    expect(pathStyleFor("https://s3.eu-west-1.amazonaws.com")).toBe(false);
    expect(pathStyleFor("https://storage.localhost.example")).toBe(false);
    expect(pathStyleFor("https://1.2.3.4.nip.io")).toBe(false);
    expect(pathStyleFor(undefined)).toBe(false);
  });

  test("forced either way wins; forced virtual-host style at an IP address is refused, naming the flag", () => {
    expect(pathStyleFor("http://minio.internal:9000", true)).toBe(true);
    expect(pathStyleFor(undefined, true)).toBe(true);
    expect(pathStyleFor("http://127.0.0.1:9000", true)).toBe(true);
    expect(pathStyleFor("http://localhost:9000", false)).toBe(false);
    expect(pathStyleFor("http://minio.internal:9000", false)).toBe(false);
    expect(() => pathStyleFor("http://127.0.0.1:9000", false)).toThrow(ConfigError);
    expect(() => pathStyleFor("http://[::1]:9000", false)).toThrow(/--no-s3-path-style \(FERRY_S3_PATH_STYLE=false\).*IP-address endpoint \(\[::1\]\)/);
  });
});

describe("bucketUrl: where both S3 clients send a bucket's requests", () => {
  test("path-style puts the bucket in the path, virtual-host style in the host", () => {
    expect(bucketUrl({ bucket: "lake", endpoint: "http://127.0.0.1:9000", pathStyle: true })).toBe("http://127.0.0.1:9000/lake");
    expect(bucketUrl({ bucket: "lake", endpoint: "http://[::1]:9000/", pathStyle: true })).toBe("http://[::1]:9000/lake");
    expect(bucketUrl({ bucket: "lake", endpoint: "https://minio.internal", pathStyle: false })).toBe("https://lake.minio.internal/");
    expect(bucketUrl({ bucket: "lake", endpoint: "https://minio.internal:9443/s3/", pathStyle: false })).toBe("https://lake.minio.internal:9443/s3/");
    expect(bucketUrl({ bucket: "lake", region: "eu-west-1", pathStyle: false })).toBe("https://lake.s3.eu-west-1.amazonaws.com/");
    expect(bucketUrl({ bucket: "lake", pathStyle: true })).toBe("https://s3.us-east-1.amazonaws.com/lake");
  });

  test("no bucket host at an IP address; an endpoint that is no URL is refused", () => {
    expect(() => bucketUrl({ bucket: "lake", endpoint: "http://127.0.0.1:9000", pathStyle: false })).toThrow(ConfigError);
    expect(() => bucketUrl({ bucket: "lake", endpoint: "http://user:pw@[bad", pathStyle: true })).toThrow(/"http:\/\/\[bad" is not a URL/);
  });
});

describe("s3AccessOf resolves the style once, for Bun's client and DuckDB alike", () => {
  const base = { s3Region: "us-east-1", s3AccessKeyId: "id", s3SecretAccessKey: "secret" };
  test("unset: from the endpoint; set: as given", () => {
    expect(s3AccessOf({ ...base, s3Endpoint: "http://127.0.0.1:9000" })?.pathStyle).toBe(true);
    expect(s3AccessOf({ ...base, s3Endpoint: "https://minio.internal" })?.pathStyle).toBe(false);
    expect(s3AccessOf(base)?.pathStyle).toBe(false);
    expect(s3AccessOf({ ...base, s3Endpoint: "https://minio.internal", s3PathStyle: true })?.pathStyle).toBe(true);
    expect(() => s3AccessOf({ ...base, s3Endpoint: "http://127.0.0.1:9000", s3PathStyle: false })).toThrow(ConfigError);
  });
});
