/** The HTTP server: Bun.serve with explicit timeouts and a body-size backstop. */
import { errorMessage, FerryError } from "../errors.ts";

export interface HttpServerOptions {
  hostname: string;
  port: number;
  fetch: (req: Request) => Response | Promise<Response>;
  /** Our own limit is enforced by the app; Bun's is a backstop just above it. */
  bodyLimit: number;
  idleTimeoutSeconds?: number;
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
    maxRequestBodySize: opts.bodyLimit + 64 * 1024,
    development: false,
    // Bun shares a taken port by default; a second ferry on the same port must fail, not split traffic.
    reusePort: false,
  });
}
