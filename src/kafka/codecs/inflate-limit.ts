/** A decompression that would pass its output limit: thrown as soon as it would, before the memory is taken. */
export class InflateLimitError extends Error {
  constructor(readonly limit: number) {
    super(`inflates beyond ${limit} bytes`);
  }
}
