"""Reading up to a record the Kafka client cannot parse, which would otherwise stop every partition.

aiokafka decodes each record's header names as UTF-8 as it hands records out. A header name that
is not (a librdkafka or raw-protocol producer can write one) makes `getmany` raise for the whole
consumer, on every call, so every partition the worker holds would stall for good. Read alone and
one record at a time, the partition that holds it gives up the records before it, and where it
is: the consumer reports it as unreadable (it is dead-lettered) and reads on after it.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

Unparsable = tuple[int, str]  # the record's offset, and what the client said


async def read_to_unparsable(
    consumer: AIOKafkaConsumer, tp: TopicPartition, limit: int, wait_ms: int
) -> tuple[list[Any], Unparsable | None]:
    """Return `tp`'s next records (at most `limit`), and the unparsable one they stop at, if any.

    Call it with the partition's position where the caller's next read starts: records a
    failed call handed out are lost with it, so the caller seeks back first.
    """
    try:
        got = await consumer.getmany(tp, timeout_ms=wait_ms, max_records=limit)
        return list(got.get(tp, [])), None
    except ValueError:  # this partition holds it; the position did not move (see below)
        pass
    # With max_records=1 aiokafka moves the position past each record it returns, and not past
    # one it fails to parse: the position is then that record's offset.
    messages: list[Any] = []
    for _ in range(limit):
        try:
            got = await consumer.getmany(tp, timeout_ms=wait_ms, max_records=1)
        except ValueError as exc:
            return messages, (int(await consumer.position(tp)), f"{type(exc).__name__}: {exc}")
        if not got:
            break
        messages += got[tp]
    return messages, None
