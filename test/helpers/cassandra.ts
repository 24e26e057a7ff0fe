/** A cassandra-driver client of the test Cassandra (scripts/services/cassandra), logged in. */
import { auth, Client, types } from "cassandra-driver";
import { TEST_CASSANDRA, TEST_CASSANDRA_LOGIN } from "./servers.ts";

export const testCassandraClient = () =>
  new Client({
    contactPoints: TEST_CASSANDRA,
    localDataCenter: "datacenter1",
    authProvider: new auth.PlainTextAuthProvider(TEST_CASSANDRA_LOGIN.username, TEST_CASSANDRA_LOGIN.password),
    protocolOptions: { maxVersion: types.protocolVersion.v4 },
  });
