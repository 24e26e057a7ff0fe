/**
 * `--metrics-port` of the modes without an ingress (sink, export, generate): one small HTTP
 * listener with /metrics (Prometheus text of the mode's registry), /healthz, and the status (the
 * page, /status.json, /status/events, sign-in). Tokens (--auth-token, FERRY_AUTH_TOKEN,
 * --auth-token-file) guard the status as on run and serve; /metrics and /healthz stay open.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import * as v from "valibot";
import { int, list, str } from "../config/fields.ts";
import { bearerAuth } from "../http/auth.ts";
import { authTokensOf } from "../http/config.ts";
import type { Registry } from "../http/metrics.ts";
import type { Logger } from "../log/logger.ts";
import { startHttpServer } from "../platform/http-server.ts";
import { VERSION } from "../version.ts";
import { accessWarnings, isLoopback, statusAccess } from "./access.ts";
import type { Dependencies } from "./dependencies.ts";
import { statusRoutes } from "./routes.ts";
import { createStatus, type Status, type StatusCollector } from "./status.ts";

export const statusListenerFields = {
  metricsPort: v.optional(
    int({ doc: "Serve the status page (/), /status.json, /status/events, /metrics and /healthz on this port (0: any free port; default: none).", placeholder: "PORT", min: 0, max: 65535 }),
  ),
  metricsHost: v.optional(str({ doc: "Address of the metrics and status server (0.0.0.0 for every interface).", placeholder: "HOST", min: 1 }), "127.0.0.1"),
  authToken: v.optional(
    list({
      doc: "Bearer token(s) the status page, /status.json and /status/events ask for (none: open; /metrics and /healthz stay open). A flag shows in /proc to every local user: prefer FERRY_AUTH_TOKEN or --auth-token-file.",
      placeholder: "TOKEN",
      secret: true,
    }),
    [],
  ),
  authTokenFile: v.optional(str({ doc: "File holding the status page's bearer token(s), one per line; instead of --auth-token.", placeholder: "FILE", min: 1 })),
};

export interface StatusListenerConfig {
  metricsPort?: number;
  metricsHost: string;
  authToken: string[];
  authTokenFile?: string;
}

export interface StatusListener {
  readonly url: string;
  readonly status: Status;
  /** Ends the event streams, then stops the server. */
  stop(): Promise<void>;
}

/** Starts the listener when --metrics-port is given (undefined otherwise). Bad tokens fail here, before anything else starts. */
export function startStatusListener(
  config: StatusListenerConfig,
  opts: { registry: Registry; collector: StatusCollector; dependencies: Dependencies; effectiveConfig?: Record<string, unknown>; log: Logger },
): StatusListener | undefined {
  if (config.metricsPort === undefined) return undefined;
  const tokens = authTokensOf(config);
  const bearer = bearerAuth(tokens, config.authTokenFile ? (n) => `--auth-token-file line ${n}` : undefined);
  const access = statusAccess({ tokens, bearer, tls: false });
  const status = createStatus({
    version: VERSION,
    config: opts.effectiveConfig ?? {},
    collector: opts.collector,
    dependencies: opts.dependencies,
    warnings: accessWarnings(access.open, isLoopback(config.metricsHost), config.metricsHost),
  });
  const app = new Hono();
  app.get("/metrics", (c) => c.text(opts.registry.render(), 200, { "content-type": "text/plain; version=0.0.4" }));
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  statusRoutes(app, status, access);
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse(); // the bearer check's 401
    opts.log.error("request failed", { path: c.req.path, error: err });
    return c.json({ error: `internal error: ${err.message}` }, 500);
  });
  let server: ReturnType<typeof startHttpServer>;
  try {
    server = startHttpServer({ hostname: config.metricsHost, port: config.metricsPort, fetch: app.fetch, bodyLimit: 16 * 1024 });
  } catch (e) {
    status.close();
    throw e;
  }
  if (access.open && !isLoopback(config.metricsHost)) {
    opts.log.warn("the status page listens beyond loopback without an auth token: anyone who reaches this address can see it", {
      host: config.metricsHost,
      hint: "set FERRY_AUTH_TOKEN or --auth-token-file, or listen on 127.0.0.1",
    });
  }
  return {
    url: server.url,
    status,
    async stop() {
      status.close();
      await server.stop();
    },
  };
}
