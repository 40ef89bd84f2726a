"""JSON on the wire: feed envelopes, bare records from trusts' own producers, dead letters.

The only module that knows how records are laid out in Kafka messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeGuard

import orjson

from hub.adapters.signing import EnvelopeSigner, Signature, signed_bytes
from hub.domain.bounds import TEXT_CHARS, clip
from hub.domain.envelope import INVALID_SIGNATURE, UNSIGNED, Envelope, Undecodable
from hub.domain.feeds import Feed
from hub.ports import DeadLetter, Fetched

ENVELOPE_VERSION = 2  # 1: signed over the value alone (`hub.adapters.signing`)


def dumps(value: Any) -> bytes:
    """Encode JSON with sorted keys, so equal values give equal bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def dumps_held(value: Any) -> bytes:
    """Encode as `dumps` does, into bytes of their own size, for values held in memory long.

    orjson's bytes keep the buffer they were written in (about 4 KB even for a short
    value): a rebuild holding a million records that way would hold gigabytes.
    """
    return bytes(memoryview(dumps(value)))


def encode_body(value: Any) -> bytes:
    """Encode a response body once for every reader (keys in the order the body was built)."""
    return orjson.dumps(value)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def encode_envelope(
    feed: Feed,
    record: Mapping[str, Any],
    received_at: datetime,
    submitter_org: str,
    submission_id: str,
    index: int,
) -> bytes:
    """Wrap a validated record as the hub writes it to its feed topic."""
    return dumps(
        {
            "hub": ENVELOPE_VERSION,
            "feed": feed.name,
            "received_at": received_at.isoformat(),
            "submitter_org": submitter_org,
            "submission_id": submission_id,
            "index": index,
            "record": record,
        }
    )


def decode_message(
    topic: str,
    feed: Feed,
    message: Fetched,
    main: bool = True,
    signer: EnvelopeSigner | None = None,
    accept_unsigned: bool = False,
) -> Envelope | Undecodable:
    """Read a feed-topic message: a signed envelope from the API, a bare record, or why not.

    On a main feed topic (`main`) only an envelope whose signature `signer`
    verifies counts (see `hub.adapters.signing`); anything else is Undecodable
    (dead-lettered), unless `accept_unsigned` (development only) reads it as
    the bare record it carries: no organisation claimed, received at the
    broker's timestamp. On an organisation's direct topic signatures are not
    read: every record is a bare record (the topic says whose it is).

    Never raises, whatever the bytes, headers, key or timestamp: a message that
    cannot be read becomes Undecodable, so it is dead-lettered and the
    partition moves on.
    """
    try:
        return _decode(topic, feed, message, main, signer, accept_unsigned)
    except Exception as exc:  # a poison message must never stall its partition
        reason = f"the message could not be read: {type(exc).__name__}: {exc}"[:500]
        return Undecodable(feed, reason, _text(message.value), _instant(message.timestamp_ms))


def _decode(
    topic: str,
    feed: Feed,
    message: Fetched,
    main: bool,
    signer: EnvelopeSigner | None,
    accept_unsigned: bool,
) -> Envelope | Undecodable:
    if message.problem is not None:
        reason = f"the Kafka client could not read this message: {message.problem}"
        return Undecodable(feed, reason, "", EPOCH)
    stamped = _instant(message.timestamp_ms)
    value = message.value
    if value is None:
        return Undecodable(feed, "empty message (a tombstone is not a record)", "", stamped)
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return Undecodable(feed, f"not valid JSON: {exc}", _text(value), stamped)
    if not isinstance(doc, dict):
        return Undecodable(feed, "a record must be a JSON object", _text(value), stamped)
    version = _envelope_version(doc)
    if main:
        verdict = _verdict(topic, message, version, signer)
        if verdict is Signature.VALID:
            return _trusted(feed, doc, value, stamped)
        if not accept_unsigned:
            return _unsigned(feed, verdict, version, signer, value, stamped)
    if not _readable(message.timestamp_ms):
        # A bare record is received at its message's timestamp; this one has none to use.
        unusable = f"the message's timestamp ({message.timestamp_ms} ms) is not a usable instant"
        return Undecodable(feed, unusable, _text(value), stamped)
    if version is not None:
        problem = _checked_envelope(doc)
        if isinstance(problem, str):
            return Undecodable(feed, f"malformed hub envelope: {problem}", _text(value), stamped)
        return Envelope(feed=feed, record=doc["record"], received_at=stamped, source="kafka")
    return Envelope(feed=feed, record=doc, received_at=stamped, source="kafka")


def _envelope_version(doc: dict[str, Any]) -> int | None:
    """Return the envelope version a document claims (1 or 2), or None for a bare record."""
    version = doc.get("hub")
    if isinstance(version, int) and not isinstance(version, bool) and version in (1, 2):
        return version
    return None


def _verdict(
    topic: str, message: Fetched, version: int | None, signer: EnvelopeSigner | None
) -> Signature:
    if signer is None:
        return Signature.MISSING
    if version == 1:  # signed by an older hub over the value alone (see `hub.adapters.signing`)
        return signer.check(message.value or b"", message.headers)
    return signer.check(signed_bytes(topic, message.key, message.value or b""), message.headers)


def _trusted(
    feed: Feed, doc: dict[str, Any], value: bytes, stamped: datetime
) -> Envelope | Undecodable:
    """Read an envelope whose signature verified: the API validated and attributed its record."""
    received = _checked_envelope(doc)
    if not isinstance(received, str) and doc.get("feed") != feed.name:
        received = f"it is an envelope of feed {doc.get('feed')!r}, on the topic of {feed.name}"
    if isinstance(received, str):
        return Undecodable(feed, f"malformed hub envelope: {received}", _text(value), stamped)
    return Envelope(
        feed=feed,
        record=doc["record"],
        received_at=received,
        source="api",
        submitter_org=doc.get("submitter_org"),
        submission_id=doc.get("submission_id"),
        index=doc.get("index"),
        trusted=True,
    )


def _unsigned(
    feed: Feed,
    verdict: Signature,
    version: int | None,
    signer: EnvelopeSigner | None,
    value: bytes,
    stamped: datetime,
) -> Undecodable:
    """Explain why a message on a main feed topic is not counted."""
    what = "a hub envelope" if version is not None else "a record"
    if verdict is Signature.INVALID:
        reason = (
            f"{what} whose hub-sig signature does not verify (forged, altered, copied from "
            "another topic or key, or signed with a key this hub does not hold)"
        )
        return Undecodable(feed, reason, _text(value), stamped, kind=INVALID_SIGNATURE)
    if signer is None:
        reason = (
            f"{what} on a main feed topic, and this worker holds no HUB_ENVELOPE_KEY to verify "
            "it: only envelopes the API signed count (set the key, or HUB_ACCEPT_UNSIGNED=true "
            "in development)"
        )
    else:
        reason = (
            f"{what} without the API's signature on a main feed topic: only envelopes the API "
            "signed count there; a trust's own producer writes its direct topic"
        )
    return Undecodable(feed, reason, _text(value), stamped, kind=UNSIGNED)


def _checked_envelope(doc: dict[str, Any]) -> datetime | str:
    """Return a hub envelope's `received_at`, or what is wrong with the envelope.

    No feed has a field called `hub`, so a message carrying it was meant as an
    envelope; a broken one is a poison message, not a bare record to validate.
    A naive `received_at` is refused here because validation cannot judge it.
    """
    if not isinstance(doc.get("record"), dict):
        return "record must be a JSON object"
    try:
        received = datetime.fromisoformat(doc["received_at"])
    except (KeyError, TypeError, ValueError) as exc:
        return f"received_at: {exc!r}"
    if received.utcoffset() is None:
        return "received_at has no UTC offset"
    for name in ("submitter_org", "submission_id"):
        if not isinstance(doc.get(name, ""), str | None):
            return f"{name} must be a string"
    index = doc.get("index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        return "index must be an integer"
    return received


# The instants a message's own timestamp may stand for. Kafka's is any 64-bit number (-1:
# none); far outside these years a datetime cannot hold it, or validation's windows around it.
_EARLIEST_MS = -2_208_988_800_000  # 1900-01-01
_LATEST_MS = 221_845_392_000_000  # 9000-01-01
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _readable(timestamp_ms: object) -> TypeGuard[int]:
    return isinstance(timestamp_ms, int) and _EARLIEST_MS <= timestamp_ms < _LATEST_MS


def _instant(timestamp_ms: object) -> datetime:
    """Return a message timestamp as an instant; the epoch when it stands for none."""
    if _readable(timestamp_ms):
        return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return EPOCH


# A dead letter's largest JSON: well under Kafka's default message size (1 MiB, the producer's
# max_request_size), whatever was rejected. The parts below are cut so that the letter cannot
# exceed it: each character takes at most 6 bytes in JSON (a \u escape).
LETTER_MAX_BYTES = 256 * 1024
ORIGINAL_LIMIT = 10_000  # characters of a rejected record's JSON kept in its dead letter
ERRORS_KEPT = 20  # errors of a rejected record kept in its dead letter
FIELD_CHARS = 128
_CUT_KEYS = {"truncated", "size", "start"}
_TEXTS = ("id", "feed", "org", "source", "received_at", "reason", "key")


def _bounded_original(letter: DeadLetter, limit: int) -> tuple[Any, bool]:
    original = letter.original
    if letter.truncated and isinstance(original, dict) and set(original) == _CUT_KEYS:
        start = original["start"]  # cut before (a letter read back from the outbox)
        if isinstance(start, str) and len(start) <= limit:
            return original, False
    try:
        text = orjson.dumps(original, default=str).decode()
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits, from a test or a bug
        text = repr(original)
    if len(text) <= limit:
        return original, False
    return {"truncated": True, "size": len(text), "start": text[:limit]}, True


def dead_letter_doc(
    letter: DeadLetter, original_chars: int = ORIGINAL_LIMIT, errors: int = ERRORS_KEPT
) -> dict[str, Any]:
    """Return a dead letter as JSON-ready data, cut to size, with `truncated` set if anything was.

    A rejected record can be arbitrarily large (an unknown field of a megabyte, 20,000 unknown
    fields); kept whole its letter could exceed Kafka's message size and never be written. A
    huge original becomes `{"truncated": true, "size": <characters of its JSON>, "start": …}`;
    only the first `errors` errors are kept, and `errors_more` counts the rest; every text is
    clipped (`hub.domain.bounds.clip`).
    """
    original, cut = _bounded_original(letter, original_chars)
    listed = letter.errors[:errors]
    doc: dict[str, Any] = {
        "id": letter.id,
        "feed": letter.feed,
        "org": letter.org,
        "source": letter.source,
        "received_at": letter.received_at,
        "reason": letter.reason,
        "errors": [[clip(f, FIELD_CHARS), clip(m)] for f, m in listed],
        "original": original,
        "index": letter.index,
        "line": letter.line,
        "key": letter.key,
    }
    for name in _TEXTS:
        value = doc[name]
        if value is not None and len(value) > TEXT_CHARS:
            doc[name], cut = clip(value), True
    more = max(0, len(letter.errors) - errors)
    if more or any(len(f) > FIELD_CHARS or len(m) > TEXT_CHARS for f, m in listed):
        cut = True
    doc["truncated"] = letter.truncated or cut
    doc["errors_more"] = letter.errors_more + more
    return doc


def encode_dead_letter(letter: DeadLetter) -> bytes:
    """Return a dead letter's JSON, at most LETTER_MAX_BYTES long."""
    return dumps(dead_letter_doc(letter))


def _text(value: object) -> str:
    """Return a message's value as text for its dead letter, cut to 10,000 characters."""
    if isinstance(value, bytes):
        return value[:40_000].decode("utf-8", errors="replace")[:10_000]
    return "" if value is None else repr(value)[:10_000]
