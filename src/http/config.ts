/** Config of the HTTP ingress, shared by `ferry serve` and `ferry run`. */
import * as v from "valibot";
import { duration, int, list, str } from "../config/fields.ts";
import { readConfigFile } from "../config/files.ts";
import { ConfigError } from "../errors.ts";

/** HTTPS: the listener's certificate and key (PEM). Also read by `ferry probe`, so a health check finds the listener. */
export const httpsFields = {
  tlsCert: v.optional(str({ doc: "PEM certificate (chain) to serve HTTPS with (with --tls-key).", placeholder: "FILE", min: 1 })),
  tlsKey: v.optional(str({ doc: "PEM private key of --tls-cert.", placeholder: "FILE", min: 1 })),
};

/** The certificate and key of an HTTPS listener, read once; undefined for plain HTTP. */
export function httpsOf(c: { tlsCert?: string; tlsKey?: string }): { cert: string; key: string } | undefined {
  if (!c.tlsCert && !c.tlsKey) return undefined;
  if (!c.tlsCert || !c.tlsKey) throw new ConfigError("--tls-cert and --tls-key go together (HTTPS needs both)");
  return { cert: readConfigFile(c.tlsCert, "tls-cert"), key: readConfigFile(c.tlsKey, "tls-key") };
}

export const httpFields = {
  host: v.optional(str({ doc: "Address to listen on (0.0.0.0 for every interface).", placeholder: "HOST", min: 1 }), "127.0.0.1"),
  port: v.optional(int({ doc: "HTTP port to listen on (0: any free port).", placeholder: "PORT", min: 0, max: 65535 }), 8080),
  bodyLimit: v.optional(int({ doc: "Largest accepted request body, in bytes (413 above it).", placeholder: "BYTES", min: 1 }), 1024 * 1024),
  authToken: v.optional(
    list({
      doc: "Bearer token(s) required on POST /orders; several allowed (none: open). A flag shows in /proc to every local user: prefer FERRY_AUTH_TOKEN or --auth-token-file.",
      placeholder: "TOKEN",
      secret: true,
    }),
    [],
  ),
  authTokenFile: v.optional(str({ doc: "File holding the bearer token(s), one per line (a trailing newline is ignored); instead of --auth-token.", placeholder: "FILE", min: 1 })),
  maxInFlight: v.optional(int({ doc: "Records accepted but not yet durable, at most (429 above it).", placeholder: "N", min: 1 }), 200_000),
  linger: v.optional(
    duration({ doc: "How long a write batch waits for more records (0: adaptive, it goes as soon as a write slot is free).", min: 0 }),
    0,
  ),
  batchRecords: v.optional(int({ doc: "Records per write batch, at most.", placeholder: "N", min: 1 }), 5000),
  ...httpsFields,
};

/**
 * The bearer tokens: --auth-token (or FERRY_AUTH_TOKEN), or the lines of --auth-token-file, read
 * once (one trailing newline ignored; an empty line is refused: it could only be a mistake).
 */
export function authTokensOf(c: { authToken: string[]; authTokenFile?: string }): string[] {
  if (!c.authTokenFile) return c.authToken;
  if (c.authToken.length > 0) throw new ConfigError("give the bearer tokens once: --auth-token (FERRY_AUTH_TOKEN) or --auth-token-file, not both");
  const lines = readConfigFile(c.authTokenFile, "auth-token-file").replace(/\r?\n$/, "").split(/\r?\n/);
  const empty = lines.findIndex((line) => line === "");
  if (empty >= 0) throw new ConfigError(`invalid --auth-token-file ${JSON.stringify(c.authTokenFile)}: line ${empty + 1} is empty (one token per line)`);
  return lines;
}
