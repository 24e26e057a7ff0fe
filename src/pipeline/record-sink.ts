/** Where accepted records go: Kafka (serve) or the embedded table (run). */
import type { ReceivedOrder } from "../schema/order.ts";

export interface OrderSink {
  /** Resolves once every order is durable; rejects with UnavailableError when it cannot be. */
  write(orders: ReceivedOrder[]): Promise<void>;
  /** Whether the downstream currently takes writes (drives /readyz and fast 503s). */
  ready(): boolean;
  /** Human-readable reason when not ready. */
  readonly notReadyReason?: string;
  /** Flushes what is pending and releases connections. */
  close(): Promise<void>;
}
