/**
 * Runs the HTTP ingress over a sink until the mode's signal fires, then drains: stop taking
 * orders (503), answer every request in flight, flush the sink, close it. `alongside` starts
 * what lives as long as the sink (e.g. run's query socket) and returns how to stop it.
 */
import { createIngress } from "../http/app.ts";
import { bearerAuth } from "../http/auth.ts";
import { authTokensOf, httpsOf } from "../http/config.ts";
import { DRAIN_BYTES } from "../http/read-records.ts";
import { startHttpServer } from "../platform/http-server.ts";
import type { FlushObserver } from "../pipeline/coalescer.ts";
import type { OrderSink } from "../pipeline/record-sink.ts";
import { VERSION } from "../version.ts";
import { accessWarnings, isLoopback, statusAccess } from "../status/access.ts";
import type { IngressView } from "../status/collectors/ingress.ts";
import type { Dependencies } from "../status/dependencies.ts";
import { statusRoutes } from "../status/routes.ts";
import { createStatus, type StatusCollector } from "../status/status.ts";
import type { ModeContext } from "./mode.ts";

/** The mode's part of the status page: its dependencies (told by the sink as it learns) and its collector over the sink and the ingress. */
export interface StatusWiring<S> {
  dependencies: Dependencies;
  collector(sink: S, ingress: IngressView): StatusCollector;
}

export interface HttpModeConfig {
  host: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  bodyLimit: number;
  authToken: string[];
  authTokenFile?: string;
  maxInFlight: number;
}

export { isLoopback } from "../status/access.ts";

export async function serveUntilStopped<S extends OrderSink>(
  config: HttpModeConfig,
  openSink: (observeFlush: FlushObserver) => Promise<S>,
  ctx: ModeContext,
  describe: Record<string, unknown>,
  alongside: ((sink: S, fetch: (req: Request) => Response | Promise<Response>) => () => void) | undefined,
  status: StatusWiring<S>,
): Promise<number> {
  let observe: FlushObserver = () => {};
  // Bad certificates or tokens fail before anything is opened.
  const tls = httpsOf(config);
  const tokens = authTokensOf(config);
  const auth = bearerAuth(tokens, config.authTokenFile ? (n) => `--auth-token-file line ${n}` : undefined);
  const sink = await openSink((size, ms, error) => observe(size, ms, error));
  const ingress = createIngress({ sink, bodyLimit: config.bodyLimit, authTokens: tokens, auth, maxInFlight: config.maxInFlight, log: ctx.log, version: VERSION });
  observe = ingress.observeFlush;
  const access = statusAccess({ tokens, bearer: auth, tls: tls !== undefined });
  const live = createStatus({
    version: VERSION,
    config: ctx.effectiveConfig ?? {},
    collector: status.collector(sink, ingress),
    dependencies: status.dependencies,
    warnings: accessWarnings(access.open, isLoopback(config.host), config.host),
  });
  statusRoutes(ingress.app, live, access);
  const stopAlongside = alongside?.(sink, ingress.localFetch);
  let server: ReturnType<typeof startHttpServer>;
  try {
    server = startHttpServer({ hostname: config.host, port: config.port, fetch: ingress.app.fetch, bodyLimit: config.bodyLimit, drainBytes: DRAIN_BYTES, tls });
  } catch (e) {
    // e.g. the port is taken: release what was opened before saying so.
    live.close();
    await sink.close();
    stopAlongside?.();
    throw e;
  }
  ctx.log.notice("listening", { url: server.url, ...describe });
  if (tokens.length === 0 && !isLoopback(config.host)) {
    ctx.log.warn("listening beyond loopback without an auth token: anyone who reaches this address can post orders", {
      host: config.host,
      hint: "set FERRY_AUTH_TOKEN or --auth-token-file, or listen on 127.0.0.1",
    });
  }
  await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener("abort", () => resolve(), { once: true })));
  ctx.log.notice("draining", { inFlight: ingress.inFlight() });
  ingress.startDraining();
  // The status's event streams end first: the server's stop waits for every open response.
  live.close();
  await server.stop();
  await sink.close();
  stopAlongside?.();
  ctx.log.notice("stopped", { accepted: ingress.metrics.accepted.get() });
  return 0;
}
