/** ferry's typed errors. Each carries the exit code the CLI ends with and its context. */

export class FerryError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad flag, env variable or config file value: one line, exit code 2. */
export class ConfigError extends FerryError {
  override readonly exitCode = 2;
}

/** A downstream system (Kafka, Cassandra, DuckDB) failed or could not be reached. */
export class DownstreamError extends FerryError {
  constructor(
    readonly system: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${system}: ${message}`, options);
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * An S3 endpoint answered a bucket request with something that is not S3's answer (a web page,
 * another XML document, a redirect, no such host): most often the addressing style or the
 * endpoint is wrong. `answered` is what it said (secrets never), `pathStyle` how it was addressed.
 */
export class S3AnswerError extends DownstreamError {
  constructor(
    readonly endpoint: string,
    readonly bucket: string,
    readonly pathStyle: boolean,
    readonly answered: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("S3", message, options);
  }
}
