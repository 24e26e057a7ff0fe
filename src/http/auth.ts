/** Optional bearer-token check: constant-time comparison against the configured tokens. */
import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "./http-error.ts";

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Returns a check that throws 401 unless the Authorization header carries a configured token. */
export function bearerAuth(tokens: readonly string[]): ((authorization: string | null) => void) | undefined {
  if (tokens.length === 0) return undefined;
  const allowed = tokens.map(digest);
  return (authorization) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    const given = m ? digest(m[1]!) : undefined;
    let ok = false;
    for (const a of allowed) if (given && timingSafeEqual(a, given)) ok = true;
    if (!ok) throw new HttpError(401, { error: m ? "invalid bearer token" : "missing bearer token (Authorization: Bearer <token>)" }, { "WWW-Authenticate": 'Bearer realm="ferry"' });
  };
}
