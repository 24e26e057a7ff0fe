/** Addresses of the real servers started by scripts/test (scripts/services/*). */
export const TEST_BROKERS = (process.env.FERRY_TEST_BROKERS ?? "127.0.0.1:9092").split(",");
export const TEST_CASSANDRA = (process.env.FERRY_TEST_CASSANDRA ?? "127.0.0.1:9042").split(",");
/** scripts/services/cassandra checks logins; this is its default superuser. */
export const TEST_CASSANDRA_LOGIN = { username: "cassandra", password: "cassandra" };

/** A name unique to this test run, so reruns against a kept broker never see old data. */
export const uniqueName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** Hooks that start or stop real servers (Kafka, ferry, consumer groups) outlast bun's 5 s hook default. */
export const SERVER_HOOK_TIMEOUT = 60_000;
