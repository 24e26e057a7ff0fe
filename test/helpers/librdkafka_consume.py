"""Reads N values of a topic from the beginning with librdkafka (confluent-kafka) and prints them, one per line.
   python3 librdkafka_consume.py BROKERS TOPIC COUNT"""
import sys
import time
import uuid

from confluent_kafka import Consumer

brokers, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({"bootstrap.servers": brokers, "group.id": f"librdkafka-{uuid.uuid4()}", "auto.offset.reset": "earliest", "enable.auto.commit": False})
c.subscribe([topic])
got = 0
deadline = time.time() + 60
try:
    while got < count:
        if time.time() > deadline:
            sys.exit(f"only {got} of {count} messages within 60 s")
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            sys.exit(f"consumer error: {m.error()}")
        sys.stdout.write(m.value().decode("utf-8") + "\n")
        got += 1
finally:
    c.close()
