/** The HTTP server: Bun.serve with explicit timeouts and a body-size backstop. */
import { errorMessage, FerryError } from "../errors.ts";

export interface HttpServerOptions {
  hostname: string;
  port: number;
  fetch: (req: Request) => Response | Promise<Response>;
  /**
   * Our own limit is enforced by the app, which still reads (and drops) up to `drainBytes` of a
   * body over it before answering 413; Bun's limit is a backstop just above that.
   */
  bodyLimit: number;
  drainBytes?: number;
  idleTimeoutSeconds?: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

export interface HttpServer {
  readonly port: number;
  readonly url: string;
  /** Stops accepting connections and resolves once in-flight requests are answered. */
  stop(): Promise<void>;
}

export function startHttpServer(opts: HttpServerOptions): HttpServer {
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = listen(opts);
  } catch (e) {
    throw new FerryError(`cannot listen on ${opts.hostname}:${opts.port}: ${errorMessage(e)}`, { cause: e });
  }
  return {
    port: server.port ?? opts.port,
    url: server.url.toString().replace(/\/$/, ""),
    stop: async () => {
      await server.stop(false);
    },
  };
}

function listen(opts: HttpServerOptions) {
  return Bun.serve({
    hostname: opts.hostname,
    port: opts.port,
    fetch: opts.fetch,
    idleTimeout: opts.idleTimeoutSeconds ?? 60,
    maxRequestBodySize: Math.max(opts.bodyLimit, opts.drainBytes ?? 0) + 64 * 1024,
    development: false,
    ...(opts.tls ? { tls: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
    // Bun shares a taken port by default; a second ferry on the same port must fail, not split traffic.
    reusePort: false,
  });
}
