/**
 * The Cassandra client factory and table lookup: the only place that builds a cassandra-driver
 * client. Failures come out as one DownstreamError line naming what was wrong (unreachable
 * hosts, refused credentials, a missing keyspace or table, an unsupported partitioner).
 */
import { auth, Client, errors, policies, types } from "cassandra-driver";
import { DownstreamError, errorMessage } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { CqlType } from "./cql-json.ts";
import { RINGS } from "./token-ranges.ts";

import type { ConsistencyName } from "./consistency.ts";

export interface CassandraOptions {
  contactPoints: string[];
  username?: string;
  password?: string;
  /** Without it, every host counts as local (fine for one data center). */
  localDc?: string;
  consistency: ConsistencyName;
  /** How long to wait for a host to answer a connection. */
  connectTimeoutMs?: number;
  readTimeoutMs?: number;
}

export interface TableColumn {
  name: string;
  type: CqlType;
}

export interface TableInfo {
  keyspace: string;
  table: string;
  columns: TableColumn[];
  partitionKey: TableColumn[];
  /** Names of the partition-key and clustering columns. */
  primaryKey: ReadonlySet<string>;
  /** The token ring of the cluster's partitioner. */
  ring: { min: bigint; max: bigint };
}

/** A CQL identifier quoted as Cassandra wants it (case and odd characters kept). */
export const quoteId = (name: string) => `"${name.replaceAll('"', '""')}"`;

function createCassandra(opts: CassandraOptions): Client {
  const loadBalancing = opts.localDc
    ? new policies.loadBalancing.TokenAwarePolicy(new policies.loadBalancing.DCAwareRoundRobinPolicy(opts.localDc))
    : new policies.loadBalancing.TokenAwarePolicy(new policies.loadBalancing.RoundRobinPolicy());
  return new Client({
    contactPoints: opts.contactPoints,
    ...(opts.localDc ? { localDataCenter: opts.localDc } : {}),
    ...(opts.username !== undefined ? { authProvider: new auth.PlainTextAuthProvider(opts.username, opts.password ?? "") } : {}),
    policies: { loadBalancing, reconnection: new policies.reconnection.ConstantReconnectionPolicy(1000) },
    protocolOptions: { maxVersion: types.protocolVersion.v4 },
    socketOptions: { connectTimeout: opts.connectTimeoutMs ?? 5000, readTimeout: opts.readTimeoutMs ?? 30_000 },
    queryOptions: { consistency: types.consistencies[CONSISTENCY_KEY[opts.consistency]], prepare: true },
    encoding: { map: Map, useBigIntAsLong: true, useBigIntAsVarint: true },
  });
}

const CONSISTENCY_KEY: Record<ConsistencyName, keyof typeof types.consistencies> = {
  ANY: "any", ONE: "one", TWO: "two", THREE: "three", QUORUM: "quorum", ALL: "all",
  LOCAL_QUORUM: "localQuorum", EACH_QUORUM: "eachQuorum", LOCAL_ONE: "localOne",
};

/** Why a connection failed, in one line: the driver's per-host errors are nested. */
export function describeCassandraError(e: unknown): string {
  if (e instanceof errors.NoHostAvailableError) {
    const inner = Object.entries(e.innerErrors ?? {}).map(([host, err]) => {
      if (err instanceof errors.AuthenticationError) return `${host}: authentication failed (${err.message})`;
      return `${host}: ${errorMessage(err)}`;
    });
    return inner.length > 0 ? `no host could be reached — ${inner.join("; ")}` : e.message;
  }
  if (e instanceof errors.AuthenticationError) return `authentication failed: ${e.message}`;
  if (e instanceof errors.ResponseError) return e.message;
  return errorMessage(e);
}

/** A connected client, or a DownstreamError saying in one line why there is none. */
export async function connectCassandra(opts: CassandraOptions, log: Logger): Promise<Client> {
  const client = createCassandra(opts);
  try {
    await client.connect();
  } catch (e) {
    await client.shutdown().catch(() => {});
    throw new DownstreamError("cassandra", `cannot connect to ${opts.contactPoints.join(",")}: ${describeCassandraError(e)}`, { cause: e });
  }
  log.info("cassandra connected", { hosts: client.getState().getConnectedHosts().map((h) => h.address) });
  return client;
}

/** The table's columns and partition key, or a DownstreamError naming what does not exist. */
export async function describeTable(client: Client, keyspace: string, table: string): Promise<TableInfo> {
  const ks = client.metadata.keyspaces[keyspace];
  if (!ks) {
    const known = Object.keys(client.metadata.keyspaces).filter((k) => !k.startsWith("system")).sort();
    throw new DownstreamError("cassandra", `keyspace "${keyspace}" does not exist (keyspaces: ${known.join(", ") || "none but system ones"})`);
  }
  const meta = await client.metadata.getTable(keyspace, table);
  if (!meta) throw new DownstreamError("cassandra", `table "${keyspace}.${table}" does not exist`);
  const local = await client.execute("SELECT partitioner FROM system.local", [], { prepare: false });
  const partitioner = String(local.first()?.get("partitioner") ?? "");
  const ring = RINGS[partitioner];
  if (!ring) throw new DownstreamError("cassandra", `partitioner ${partitioner || "(unknown)"} is not supported (Murmur3Partitioner and RandomPartitioner are)`);
  const col = (c: { name: string; type: unknown }): TableColumn => ({ name: c.name, type: c.type as CqlType });
  // The order of SELECT *: partition key, clustering columns, then the rest by name.
  const keys = [...meta.partitionKeys, ...meta.clusteringKeys];
  const columns = [...keys, ...meta.columns.filter((c) => !keys.includes(c))].map(col);
  return { keyspace, table, columns, partitionKey: meta.partitionKeys.map(col), primaryKey: new Set(keys.map((c) => c.name)), ring };
}
