/** The Confluent wire format: byte 0, the schema id as a 4-byte big-endian integer, then the value. */
export const CONFLUENT_MAGIC = 0;
export const CONFLUENT_HEADER_BYTES = 5;

/** The value of a framed message, or undefined when it is not framed. */
export function frameOf(bytes: Buffer): { id: number; payload: Buffer } | undefined {
  if (bytes.length < CONFLUENT_HEADER_BYTES || bytes[0] !== CONFLUENT_MAGIC) return undefined;
  return { id: bytes.readUInt32BE(1), payload: bytes.subarray(CONFLUENT_HEADER_BYTES) };
}

/** Frames JSON text with a schema id. */
export function framer(id: number): (json: string) => Buffer {
  const header = Buffer.alloc(CONFLUENT_HEADER_BYTES);
  header[0] = CONFLUENT_MAGIC;
  header.writeUInt32BE(id, 1);
  return (json) => {
    const body = Buffer.from(json, "utf8");
    const out = Buffer.allocUnsafe(CONFLUENT_HEADER_BYTES + body.length);
    header.copy(out, 0);
    body.copy(out, CONFLUENT_HEADER_BYTES);
    return out;
  };
}

