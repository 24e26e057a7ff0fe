/**
 * S3-compatible object storage through the runtime's own client (Bun's S3Client): the only module
 * that knows it. Objects are uploaded whole from a local file (the client switches to a multipart
 * upload above PART_SIZE), listed by prefix (all pages), read, and deleted. How a bucket is
 * addressed (path-style or virtual-host style) is chosen once, by pathStyleFor, for this client and
 * DuckDB's alike; a listing answered by something that is not S3 fails with what was answered and
 * which setting to change (S3AnswerError).
 */
import { createHash, createHmac } from "node:crypto";
import { isIP } from "node:net";
import { S3Client } from "bun";
import { ConfigError, errorMessage, S3AnswerError } from "../errors.ts";

export interface S3Settings {
  bucket: string;
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /**
   * Path-style addressing (http://host/bucket/key), as most S3-compatible servers want; otherwise
   * virtual-host style (http://bucket.host/key). Resolved once, at the edge: pathStyleFor.
   */
  pathStyle: boolean;
}

/** An endpoint as a URL; one without a scheme is read as https:// (as Bun's client does). */
function endpointUrl(endpoint: string): URL | undefined {
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`);
  } catch {
    return undefined;
  }
}

/** The host name of an endpoint URL (lower case, IPv6 in brackets). */
function endpointHost(endpoint: string): string {
  return endpointUrl(endpoint)?.hostname ?? "";
}

/** Whether an endpoint's host is an IP address (v4, or v6 in brackets): no bucket can be its subdomain. */
function isIpHost(host: string): boolean {
  return isIP(host.replace(/^\[(.*)\]$/, "$1")) !== 0;
}

/**
 * The addressing style of an endpoint, as AWS's own SDKs choose it for a custom endpoint: path-style
 * when the endpoint's host is an IP address or `localhost` (no bucket can be a subdomain of those),
 * virtual-host style otherwise (a host name, or AWS itself when there is no endpoint). `forced`
 * (--s3-path-style / --no-s3-path-style) wins, but virtual-host style at an IP address is refused:
 * it cannot be addressed at all.
 */
export function pathStyleFor(endpoint: string | undefined, forced?: boolean): boolean {
  const host = endpoint === undefined ? "" : endpointHost(endpoint);
  if (forced === false && isIpHost(host)) {
    throw new ConfigError(
      `--no-s3-path-style (FERRY_S3_PATH_STYLE=false) asks for virtual-host addressing (http://BUCKET.host/key), which an IP-address endpoint (${host}) cannot serve: drop it (path-style is automatic for an IP address) or use the endpoint's host name`,
    );
  }
  if (forced !== undefined) return forced;
  return isIpHost(host) || host === "localhost" || host === "localhost.";
}

const PART_SIZE = 8 << 20;

export interface ObjectStore {
  /** Uploads a local file as `key` (multipart above a size); resolves once the store has it whole. */
  putFile(key: string, path: string): Promise<void>;
  put(key: string, body: Uint8Array | string): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  list(prefix: string): Promise<{ key: string; size: number }[]>;
  delete(key: string): Promise<void>;
}

/**
 * The URL of a bucket's root as requests address it: http://host/bucket (path-style) or
 * http://bucket.host/ (virtual-host style); AWS's regional endpoint without an endpoint.
 */
export function bucketUrl(s: Pick<S3Settings, "bucket" | "endpoint" | "region" | "pathStyle">): string {
  const e = s.endpoint === undefined ? new URL(`https://s3.${s.region ?? "us-east-1"}.amazonaws.com`) : endpointUrl(s.endpoint);
  if (!e) throw new ConfigError(`S3 endpoint ${JSON.stringify(shownEndpoint(s.endpoint ?? ""))} is not a URL (expected http(s)://HOST[:PORT])`);
  const path = e.pathname.replace(/\/+$/, "");
  if (s.pathStyle) return `${e.protocol}//${e.host}${path}/${s.bucket}`;
  if (isIpHost(e.hostname)) throw new ConfigError(`S3 bucket ${s.bucket} cannot be addressed virtual-host style at an IP-address endpoint (${e.hostname}): use path-style (--s3-path-style)`);
  return `${e.protocol}//${s.bucket}.${e.host}${path}/`;
}

/** An endpoint for logs and errors: without user:password@ if it has one. */
function shownEndpoint(endpoint: string): string {
  return endpoint.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, "$1");
}

/** Bun's S3 client errors (S3Error) carry a code such as "NoSuchKey" or "InvalidResponse". */
function s3Code(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * The codes Bun's client gives when a listing's answer is not S3's: a body that is no
 * <ListBucketResult> (a web page, another document), a 404 without an S3 error document (it calls
 * that NoSuchKey, which a listing cannot mean), a redirect, or a host that does not resolve (a
 * BUCKET.host without DNS for it).
 */
const NOT_S3_ANSWER = new Set(["InvalidResponse", "NoSuchKey", "PermanentRedirect", "TemporaryRedirect", "Redirect", "DNSResolveFailed"]);

const sha256 = (data: string) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
/** RFC 3986 encoding, as AWS Signature V4 wants for query values. */
const rfc3986 = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Asks the same listing again (signed with AWS Signature V4, redirects not followed, 5 s at most)
 * to say what the endpoint answered when Bun's client would not say: status, type, location and
 * the body's first 80 characters, the credentials cut out should the answer echo them.
 */
async function whatListingAnswers(s: S3Settings, prefix: string): Promise<string> {
  try {
    const root = new URL(bucketUrl(s));
    const query = `list-type=2&max-keys=1&prefix=${rfc3986(prefix)}`;
    const now = new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
    const scope = `${now.slice(0, 8)}/${s.region ?? "us-east-1"}/s3/aws4_request`;
    const payload = sha256("");
    const headers: Record<string, string> = { host: root.host, "x-amz-content-sha256": payload, "x-amz-date": now };
    if (s.sessionToken) headers["x-amz-security-token"] = s.sessionToken;
    const names = Object.keys(headers).sort();
    if (s.accessKeyId && s.secretAccessKey) {
      const canonical = ["GET", root.pathname, query, names.map((n) => `${n}:${headers[n]}\n`).join(""), names.join(";"), payload].join("\n");
      const toSign = ["AWS4-HMAC-SHA256", now, scope, sha256(canonical)].join("\n");
      let key: Buffer = Buffer.from(`AWS4${s.secretAccessKey}`);
      for (const part of scope.split("/")) key = hmac(key, part);
      const signature = createHmac("sha256", key).update(toSign).digest("hex");
      headers.authorization = `AWS4-HMAC-SHA256 Credential=${s.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
    }
    delete headers.host;
    const res = await fetch(`${root.href}?${query}`, { headers, redirect: "manual", signal: AbortSignal.timeout(5000) });
    let body = (await res.text()).slice(0, 200);
    for (const secret of [s.secretAccessKey, s.sessionToken]) if (secret) body = body.split(secret).join("***");
    const type = res.headers.get("content-type");
    const location = res.headers.get("location");
    return `HTTP ${res.status}${type ? ` ${type.split(";")[0]}` : ""}${location ? ` (Location: ${location})` : ""} ${JSON.stringify(body.slice(0, 80))}`;
  } catch (e) {
    return `no answer (${errorMessage(e)})`;
  }
}

/** A listing's failure, with what the endpoint answered and which setting to change when it was not S3's answer. */
async function listingError(e: unknown, s: S3Settings, prefix: string): Promise<unknown> {
  if (!NOT_S3_ANSWER.has(s3Code(e) ?? "")) return e;
  const endpoint = shownEndpoint(s.endpoint ?? `AWS (${s.region ?? "us-east-1"})`);
  const answered = await whatListingAnswers(s, prefix);
  const style = s.pathStyle ? `path-style, ${bucketUrl(s)}` : `virtual-host style, ${bucketUrl(s)}`;
  const change = s.pathStyle
    ? "if the endpoint serves buckets as host names (BUCKET.host), set --no-s3-path-style (FERRY_S3_PATH_STYLE=false)"
    : "if the endpoint serves buckets as paths (most S3-compatible servers, any IP-address endpoint), set --s3-path-style (FERRY_S3_PATH_STYLE=true)";
  return new S3AnswerError(
    endpoint,
    s.bucket,
    s.pathStyle,
    answered,
    `ListObjectsV2 at ${endpoint} for bucket ${s.bucket} (addressed ${style}) ${answered.startsWith("HTTP") ? "answered" : "got"} ${answered} instead of a <ListBucketResult> document (${s3Code(e)}): ${change}; check too that the endpoint (--s3-endpoint, AWS_ENDPOINT_URL) is the S3 API, not a web console, and names the service, not the bucket`,
    { cause: e },
  );
}

export function openObjectStore(s: S3Settings): ObjectStore {
  // Bun's client, virtual-host style, takes the endpoint as the bucket's own host: give it BUCKET.host.
  const endpoint = s.endpoint !== undefined && !s.pathStyle ? bucketUrl(s).replace(/\/$/, "") : s.endpoint;
  const client = new S3Client({
    bucket: s.bucket,
    endpoint,
    region: s.region,
    accessKeyId: s.accessKeyId,
    secretAccessKey: s.secretAccessKey,
    sessionToken: s.sessionToken,
    virtualHostedStyle: !s.pathStyle,
  });
  return {
    async putFile(key, path) {
      await client.write(key, Bun.file(path), { partSize: PART_SIZE, queueSize: 2 });
    },
    async put(key, body) {
      await client.write(key, body);
    },
    async get(key) {
      return new Uint8Array(await client.file(key).arrayBuffer());
    },
    async list(prefix) {
      const out: { key: string; size: number }[] = [];
      let continuationToken: string | undefined;
      do {
        const page = await client.list({ prefix, continuationToken }).catch(async (e: unknown) => Promise.reject(await listingError(e, s, prefix)));
        for (const o of page.contents ?? []) out.push({ key: o.key, size: o.size ?? 0 });
        continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
      } while (continuationToken);
      return out;
    },
    async delete(key) {
      await client.delete(key);
    },
  };
}
