import { expect, test } from "bun:test";
import { untilTopicsKnown } from "../../../src/kafka/topics.ts";

const kafkaError = (type: string) => Object.assign(new Error(type), { type });

test("a topic not yet in the broker's metadata is waited for; other errors fail at once", async () => {
  let calls = 0;
  expect(
    await untilTopicsKnown(async () => {
      calls++;
      if (calls === 1) throw kafkaError("UNKNOWN_TOPIC_OR_PARTITION");
      if (calls === 2) throw kafkaError("LEADER_NOT_AVAILABLE");
      return "ok";
    }),
  ).toBe("ok");
  expect(calls).toBe(3);

  calls = 0;
  const refused = untilTopicsKnown(async () => {
    calls++;
    throw kafkaError("TOPIC_AUTHORIZATION_FAILED");
  });
  await expect(refused).rejects.toThrow("TOPIC_AUTHORIZATION_FAILED");
  expect(calls).toBe(1);
});

test("past its deadline the last error is thrown", async () => {
  let calls = 0;
  const late = untilTopicsKnown(async () => {
    calls++;
    throw kafkaError("UNKNOWN_TOPIC_OR_PARTITION");
  }, 120);
  await expect(late).rejects.toThrow("UNKNOWN_TOPIC_OR_PARTITION");
  expect(calls).toBeGreaterThan(1);
});
