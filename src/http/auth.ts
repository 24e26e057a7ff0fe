/**
 * Optional bearer tokens on POST /orders: Hono's own bearer-auth middleware (constant-time
 * comparison of hashed tokens), answering in ferry's JSON error shape. Tokens must be RFC 6750
 * b64token text (what the middleware accepts in a header); a configured one that is not could
 * never match, so it is refused at start-up.
 */
import { bearerAuth as honoBearerAuth } from "hono/bearer-auth";
import type { MiddlewareHandler } from "hono";
import { ConfigError } from "../errors.ts";

const B64TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;
const challenge = 'Bearer realm="ferry"';

/** The middleware, or undefined when no token is configured (the endpoint is open). `nth` names a token in messages (never its text). */
export function bearerAuth(tokens: readonly string[], nth: (n: number) => string = (n) => `--auth-token number ${n}`): MiddlewareHandler | undefined {
  if (tokens.length === 0) return undefined;
  const bad = tokens.findIndex((t) => !B64TOKEN.test(t));
  if (bad >= 0) throw new ConfigError(`${nth(bad + 1)} has characters a bearer token cannot carry (allowed: letters, digits and . _ ~ + / - , then = padding)`);
  return honoBearerAuth({
    token: [...tokens],
    realm: "ferry",
    noAuthenticationHeader: { message: { error: "missing bearer token (Authorization: Bearer <token>)" }, wwwAuthenticateHeader: challenge },
    invalidAuthenticationHeader: { message: { error: "malformed Authorization header: send Authorization: Bearer <token>" }, wwwAuthenticateHeader: `${challenge}, error="invalid_request"` },
    invalidToken: { message: { error: "invalid bearer token" }, wwwAuthenticateHeader: `${challenge}, error="invalid_token"` },
  });
}
