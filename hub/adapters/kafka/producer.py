"""The record and dead-letter sinks: one aiokafka producer with acks=all and bounded waits.

Tansu (the embedded broker) refuses InitProducerId, so the producer is never
idempotent or transactional. Instead every wait is bounded, so an outage is a
prompt BrokerUnavailable (503) rather than a hang, and a failed producer is
thrown away whole: its unacknowledged batches are cancelled, not retried
later, because a version the caller was told failed must not turn up long
after a newer one. (A request already on the wire when Kafka stalled may
still be written when it wakes; that is a duplicate of what the caller will
re-send, and identical versions of a record change nothing downstream.)

A message Kafka refuses for itself (over the size limit, say) is not an
outage: the request it belongs to fails with RecordRefused, and the producer
and every other request's records carry on. A message over the producer's
limit is refused before any message of its request is sent. Dead letters
are cut to fit (`hub.adapters.codec.LETTER_MAX_BYTES`), and accepted records
are small by validation, so neither should ever be refused for size.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTimestampError,
    InvalidTopicError,
    KafkaConnectionError,
    KafkaError,
    MessageSizeTooLargeError,
    PolicyViolationError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    UnsupportedForMessageFormatError,
)
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from hub.adapters.codec import encode_dead_letter, encode_envelope
from hub.adapters.kafka.options import client_options
from hub.adapters.kafka.topics import deadletter_topic
from hub.adapters.signing import EnvelopeSigner
from hub.domain.errors import BrokerUnavailable, RecordRefused
from hub.domain.feeds import topic_for
from hub.ports import AcceptedRecord, DeadLetter
from hub.settings import Settings

log = logging.getLogger(__name__)

Message = tuple[str, bytes, bytes, list[tuple[str, bytes]]]  # topic, key, value, headers
MAX_REQUEST_BYTES = 1024 * 1024  # the producer's max_request_size (aiokafka's default)
# Kafka refusing a message for what it is, not because the connection or the cluster failed …
REFUSALS = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    CorruptRecordException,
    InvalidTimestampError,
    UnsupportedForMessageFormatError,
    PolicyViolationError,
)
# … or refusing a topic: unavailable to every message for it until fixed, but the producer is sound.
TOPIC_REFUSALS = (InvalidTopicError, TopicAuthorizationFailedError)


# A send costs about 10 µs of the event loop's time: a chunk of 1,000 records at a time would
# hold it for 10 ms, so others' requests are let in every SENDS_AT_A_TIME.
SENDS_AT_A_TIME = 100


class KafkaProducerSink:
    """Implements RecordSink (and, through DeadLetterProducer, DeadLetterSink) with one producer.

    The producer starts lazily, so the API starts while Kafka is down, and is
    replaced after any failure, so the API recovers by itself when Kafka is
    back. Concurrent callers share one start attempt: during an outage each
    request waits at most one send timeout, never one per request queued
    ahead of it.
    """

    def __init__(self, settings: Settings, max_request_bytes: int = MAX_REQUEST_BYTES) -> None:
        self._settings = settings
        self._timeout = settings.kafka_send_timeout_s
        self._max_request_bytes = max_request_bytes
        self._signer = EnvelopeSigner.from_setting(settings.envelope_key)
        if self._signer is None:
            log.warning(
                "HUB_ENVELOPE_KEY is not set: envelopes go unsigned, and workers dead-letter "
                "them (unless HUB_ACCEPT_UNSIGNED=true, for development, has them validated "
                "again as bare records claiming no organisation)"
            )
        self._producer: AIOKafkaProducer | None = None
        self._starting: asyncio.Task[AIOKafkaProducer] | None = None
        self._stopping: set[asyncio.Task[None]] = set()

    async def publish(self, records: Sequence[AcceptedRecord]) -> dict[tuple[str, int], int]:
        """Return when every record is acknowledged by all in-sync replicas.

        Return, per partition written, the offset just past the last record written.
        """
        prefix = self._settings.topic_prefix
        messages: list[Message] = []
        for i, r in enumerate(records):
            if i and not i % SENDS_AT_A_TIME:
                await asyncio.sleep(0)  # encoding and signing cost the loop a few µs each
            value = encode_envelope(
                r.feed, r.canonical, r.received_at, r.submitter_org, r.submission_id, r.index
            )
            topic, key = topic_for(r.feed, prefix), r.key.encode()
            # The signature binds topic, key and these bytes (feed, record, organisation, time).
            headers = [] if self._signer is None else [self._signer.header(topic, key, value)]
            messages.append((topic, key, value, headers))
        written = await self._send(messages)
        ends: dict[tuple[str, int], int] = {}
        for meta in written:
            tp = (meta.topic, meta.partition)
            ends[tp] = max(ends.get(tp, 0), meta.offset + 1)
        return ends

    async def publish_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        topic = deadletter_topic(self._settings)
        await self._send(
            [(topic, letter.id.encode(), encode_dead_letter(letter), []) for letter in letters]
        )

    async def ping(self) -> bool:
        try:
            producer = await self._ready()
            await asyncio.wait_for(producer.client.fetch_all_metadata(), self._timeout)
        except (BrokerUnavailable, KafkaError, OSError, TimeoutError):
            return False
        return True

    async def close(self) -> None:
        """Flush and stop the producer (bounded), then wait for discarded ones to finish."""
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()  # a producer started now would outlive the sink
            await asyncio.wait([self._starting], timeout=self._timeout)  # it aborts what it began
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), self._timeout)
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("Kafka producer did not flush on close (%r); aborting it", exc)
                await _abort(producer)
        if self._stopping:
            await asyncio.wait(self._stopping, timeout=self._timeout)

    async def _send(self, messages: Sequence[Message]) -> list[Any]:
        """Send and wait for every acknowledgement; return each message's RecordMetadata."""
        if not messages:
            return []
        self._refuse_oversized(messages)
        producer = await self._ready()
        try:
            async with asyncio.timeout(self._timeout):
                futures = []
                for i, (t, k, v, h) in enumerate(messages):
                    if i and not i % SENDS_AT_A_TIME:
                        await asyncio.sleep(0)  # let the requests waiting meanwhile be answered
                    futures.append(await producer.send(t, v, key=k, headers=h or None))
                return list(await asyncio.gather(*futures))
        except REFUSALS as exc:  # this request's problem: the producer is sound, keep it
            raise RecordRefused(f"Kafka refused a message: {exc!r}") from exc
        except TOPIC_REFUSALS as exc:
            raise BrokerUnavailable(f"Kafka refused the topic: {exc!r}") from exc
        except (KafkaError, OSError, TimeoutError) as exc:
            self._discard(producer)
            raise BrokerUnavailable(f"Kafka did not acknowledge the records: {exc!r}") from exc

    def _refuse_oversized(self, messages: Sequence[Message]) -> None:
        """Refuse the whole request before sending any of it if one message is over the limit."""
        for topic, key, value, headers in messages:
            size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, list(headers))
            if size > self._max_request_bytes:
                raise RecordRefused(
                    f"a message for {topic} is {size:,} bytes; the producer's limit is "
                    f"{self._max_request_bytes:,}"
                )

    async def _ready(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        if self._starting is None or self._starting.done():
            self._starting = asyncio.create_task(self._start())
            # Read the outcome even when every waiter has gone (clients hung up).
            self._starting.add_done_callback(lambda t: t.cancelled() or t.exception())
        # Shielded: one caller giving up must not cancel the start the others share.
        return await asyncio.shield(self._starting)

    async def _start(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            **client_options(self._settings),
            acks="all",
            enable_idempotence=False,
            linger_ms=2,
            max_batch_size=256 * 1024,
            max_request_size=self._max_request_bytes,
            request_timeout_ms=int(self._timeout * 1000),
            retry_backoff_ms=100,
        )
        try:
            await asyncio.wait_for(producer.start(), self._timeout)
        except (KafkaError, OSError, TimeoutError) as exc:
            self._in_background(_abort(producer))
            raise BrokerUnavailable(f"Kafka unreachable: {exc!r}") from exc
        except asyncio.CancelledError:  # the sink is closing: its client must not outlive it
            self._in_background(_abort(producer))
            raise
        self._producer = producer
        return producer

    def _discard(self, producer: AIOKafkaProducer) -> None:
        """Drop a failed producer; the next send starts a fresh one."""
        # Only the current one: a request that failed on an older producer
        # must not throw away the one a later request already started.
        if self._producer is producer:
            self._producer = None
        self._in_background(_abort(producer))

    def _in_background(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)


async def _abort(producer: AIOKafkaProducer) -> None:
    """Stop a producer without flushing, failing whatever it still holds."""
    # aiokafka's stop() flushes, and if cut short leaves its sender retrying
    # in the background; aborting means cancelling the sender (so nothing is
    # re-sent later), failing the pending batches and closing the sockets.
    # Each step is tried whatever the one before did: a sender still waiting on a
    # request to a dead broker outlasts its timeout, and the sockets must close anyway.
    producer._closed = True  # a later stop() then does nothing
    sender: Any = producer._sender
    if sender is not None:
        await _quietly(sender.close())
    try:
        producer._message_accumulator.fail_all(KafkaConnectionError("the producer was reset"))
    except Exception as exc:
        log.debug("ignored while aborting a Kafka producer: %r", exc)
    await _quietly(producer.client.close())


async def _quietly(step: Awaitable[None], timeout: float = 2.0) -> None:
    try:
        await asyncio.wait_for(step, timeout)
    except Exception as exc:  # tearing down a broken client must not hide the first error
        log.debug("ignored while aborting a Kafka producer: %r", exc)


class DeadLetterProducer:
    """The DeadLetterSink port, on a shared producer sink."""

    def __init__(self, sink: KafkaProducerSink) -> None:
        self._sink = sink

    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        await self._sink.publish_dead_letters(letters)
