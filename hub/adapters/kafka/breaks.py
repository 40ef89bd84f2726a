"""Hearing that a connection to a broker broke, so that partitions are placed again.

A broker that restarts without its log (the embedded Tansu keeps it in memory)
comes back empty, and records accepted straight after can refill a partition
past a worker's position before its next fetch. A fetch from there then
succeeds, and the new log's records below that position would be skipped with
nothing to show for it. aiokafka reconnects without telling its caller, so the
batch consumer listens here for a broken connection, and after one places
every partition again as at assignment: stored progress is read back and the
last record applied is read again to check it is the same record
(`hub.adapters.kafka.placement`). On Apache Kafka, which keeps its log, that
check passes and costs one short read per partition.
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.conn import CloseReason

log = logging.getLogger(__name__)

# Closed by the network or the broker, not by us (shutdown, idle) or by a bootstrap probe.
BROKEN = frozenset({CloseReason.CONNECTION_BROKEN, CloseReason.CONNECTION_TIMEOUT})


class ConnectionBreaks:
    """How many of a consumer's broker connections have broken so far."""

    def __init__(self) -> None:
        self.count = 0

    def watch(self, consumer: AIOKafkaConsumer) -> None:
        """Count the broken connections of `consumer`'s client (before it starts).

        aiokafka has no public hook for this: its client hands each connection
        `_on_connection_closed` (looked up when the connection is made), so we wrap it.
        """
        client = consumer._client
        closed = client._on_connection_closed

        def on_closed(conn: Any, reason: CloseReason | None) -> None:
            closed(conn, reason)
            if reason in BROKEN:
                self.count += 1
                log.info("a broker connection broke (%s): the last records read will be checked",
                         getattr(reason, "name", reason))  # fmt: skip

        client._on_connection_closed = on_closed
