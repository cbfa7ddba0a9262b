#!/usr/bin/python3
"""Independent lag figures for one consumer group, from python3-confluent-kafka.

Usage: crosscheck_lag.py BOOTSTRAP GROUP TOPIC PARTITIONS
Prints one line per partition: "partition committed low high lag_messages lag_seconds",
with "-" for unknown values. Used by lag_crosscheck_test to check rightsize's figures
against a client that shares none of its code.
"""
import sys

from confluent_kafka import Consumer, TopicPartition


def message_timestamp(bootstrap, topic, partition, offset):
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": "crosscheck-probe",
                      "enable.auto.commit": False})
    try:
        probe.assign([TopicPartition(topic, partition, offset)])
        for _ in range(50):
            message = probe.poll(0.2)
            if message is not None and message.error() is None and message.offset() >= offset:
                return message.timestamp()[1]
        raise RuntimeError(f"no message at {topic}[{partition}]@{offset}")
    finally:
        probe.close()


def main():
    bootstrap, group, topic, partitions = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        for tp in committed:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
            if tp.offset < 0:
                print(tp.partition, "-", low, high, "-", "-")
                continue
            start = max(tp.offset, low)
            lag = max(0, high - start)
            seconds = 0.0
            if start < high:
                seconds = (message_timestamp(bootstrap, topic, tp.partition, high - 1) -
                           message_timestamp(bootstrap, topic, tp.partition, start)) / 1000.0
            print(tp.partition, tp.offset, low, high, lag, seconds)
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
