"""JSON on the wire: feed envelopes, bare records from trusts' own producers, dead letters.

The only module that knows how records are laid out in Kafka messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from hub.adapters.signing import EnvelopeSigner
from hub.domain.bounds import TEXT_CHARS, clip
from hub.domain.envelope import Envelope, Undecodable
from hub.domain.feeds import Feed
from hub.ports import DeadLetter

ENVELOPE_VERSION = 1


def dumps(value: Any) -> bytes:
    """Encode JSON with sorted keys, so equal values give equal bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


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
    feed: Feed,
    value: bytes | None,
    timestamp_ms: int,
    headers: Sequence[tuple[str, bytes]] = (),
    signer: EnvelopeSigner | None = None,
) -> Envelope | Undecodable:
    """Read a feed-topic message: a signed envelope from the API, or a bare record.

    An envelope whose signature `signer` verifies is trusted (see `hub.adapters.signing`);
    one unsigned or badly signed is read as the bare record it carries, with no
    organisation claimed and the broker's timestamp as when it was received.
    """
    stamped = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    if value is None:
        return Undecodable(feed, "empty message (a tombstone is not a record)", "", stamped)
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return Undecodable(feed, f"not valid JSON: {exc}", _text(value), stamped)
    if not isinstance(doc, dict):
        return Undecodable(feed, "a record must be a JSON object", _text(value), stamped)
    if doc.get("hub") == ENVELOPE_VERSION:
        if signer is None or not signer.verifies(value, headers):
            problem = _envelope_problem(doc)
            if problem is not None:
                return Undecodable(
                    feed, f"malformed hub envelope: {problem}", _text(value), stamped
                )
            return Envelope(feed=feed, record=doc["record"], received_at=stamped, source="kafka")
        # Signed by the API, which wrote it well formed: no need to check its shape again.
        return Envelope(
            feed=feed,
            record=doc["record"],
            received_at=datetime.fromisoformat(doc["received_at"]),
            source="api",
            submitter_org=doc.get("submitter_org"),
            submission_id=doc.get("submission_id"),
            index=doc.get("index"),
            trusted=True,
        )
    return Envelope(feed=feed, record=doc, received_at=stamped, source="kafka")


def _envelope_problem(doc: dict[str, Any]) -> str | None:
    """Return what is wrong with a hub envelope, or None.

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
    return None


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


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")[:10_000]
