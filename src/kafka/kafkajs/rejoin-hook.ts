/**
 * A hook kafkajs lacks: "the group is about to rebalance, my partitions are about to be revoked".
 * kafkajs uses the eager rebalance protocol: before it (re)joins the group it still owns its
 * partitions, and the coordinator does not hand them to anybody else until this member has
 * rejoined (or the rebalance timeout passed). Work done in the hook — flushing a batch and
 * committing its offsets — therefore completes before another member can read those partitions.
 * Java's ConsumerRebalanceListener.onPartitionsRevoked has the same place in the protocol.
 *
 * kafkajs 2.2.4 (pinned; in maintenance) exposes no such callback, so ConsumerGroup#joinAndSync
 * is wrapped once, and the hook registered for a group id runs before each join.
 */
// @ts-expect-error kafkajs ships no types for its internals
import ConsumerGroup from "kafkajs/src/consumer/consumerGroup.js";

/** Runs before the member (re)joins; `stillMember` is false when the coordinator had dropped it. */
export type BeforeRejoin = (stillMember: boolean) => Promise<void>;

const hooks = new Map<string, BeforeRejoin>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  const proto = (ConsumerGroup as { prototype: Record<string, unknown> }).prototype;
  const original = proto.joinAndSync as (this: { groupId: string; memberId: string | null; generationId: number }) => Promise<void>;
  proto.joinAndSync = async function (this: { groupId: string; memberId: string | null; generationId: number }) {
    const hook = hooks.get(this.groupId);
    if (hook) await hook(Boolean(this.memberId) && this.generationId != null);
    return original.call(this);
  };
}

/** Registers the hook for a group id; returns how to remove it. */
export function onBeforeRejoin(groupId: string, hook: BeforeRejoin): () => void {
  install();
  hooks.set(groupId, hook);
  return () => {
    if (hooks.get(groupId) === hook) hooks.delete(groupId);
  };
}
