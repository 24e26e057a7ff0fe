/**
 * Writers of one catalog meeting each other: how an error says so, and how long to wait before
 * looking again. Shared by the batch store, the adoption and maintenance.
 */
import { errorMessage } from "../errors.ts";

/**
 * Another writer's transaction met this one's: a DuckLake conflict at COMMIT, or a SQLite catalog
 * busy with it. Nothing of this transaction was written.
 */
export const metAnotherWriter = (e: unknown) => /conflict|database is locked/i.test(errorMessage(e));

/** A pause before attempt `attempt + 1`: `baseMs`·2^attempt, at most `capMs`, jittered ±50%. */
export const backOff = (attempt: number, baseMs: number, capMs = Number.POSITIVE_INFINITY) =>
  new Promise((r) => setTimeout(r, Math.min(capMs, baseMs * 2 ** attempt) * (0.5 + Math.random())));
