/** A kafkajs error in one line: its message, what caused it, and the broker when it names one. */
export function describeKafkaError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const { broker, host, port, originalError } = e as Error & { broker?: string; host?: string; port?: number; originalError?: unknown };
  const where = broker ?? (host ? `${host}:${port}` : undefined);
  const msg = originalError instanceof Error && originalError.message !== e.message ? `${e.message}: ${originalError.message}` : e.message;
  return where && !msg.includes(where) ? `${msg} (${where})` : msg;
}
