"""JSON on feed topics: signed hub envelopes, bare records from trusts' producers, and poison
messages; decoding never raises, whatever the bytes, headers, key, timestamp or topic."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.adapters.codec import (
    EPOCH,
    ORIGINAL_LIMIT,
    decode_message,
    dumps,
    dumps_held,
    encode_dead_letter,
    encode_envelope,
    loads,
)
from hub.adapters.signing import HEADER, EnvelopeSigner, Signature, signed_bytes
from hub.domain.envelope import INVALID_SIGNATURE, UNDECODABLE, UNSIGNED, Envelope, Undecodable
from hub.domain.errors import ConfigError
from hub.domain.feeds import (
    ACUTE_SITREP,
    AMBULANCE_HANDOVER,
    FEEDS,
    NHS111_INTERVAL,
    Feed,
    topic_for,
)
from hub.ports import DeadLetter, Fetched

SIGNER = EnvelopeSigner([("k2", b"the-current-secret-0123"), ("k1", b"the-previous-secret-012")])
OLD_SIGNER = EnvelopeSigner([("k1", b"the-previous-secret-012")])
STRANGER = EnvelopeSigner([("k2", b"somebody-elses-secret-0")])
STAMP_MS = 1_795_000_000_000  # the Kafka message's own timestamp
STAMPED = datetime.fromtimestamp(STAMP_MS / 1000, tz=UTC)
HANDOVER = {
    "handover_id": "H-1",
    "ambulance_trust": "RX9",
    "site": "RWEAA",
    "arrived_at": "2026-11-23T10:15:00Z",
    "handover_at": None,
}
TOPIC = topic_for(AMBULANCE_HANDOVER, "uec.")
KEY = b"RX9|H-1"


def decode(
    value: bytes | None,
    headers: Sequence[tuple[Any, Any]] = (),
    *,
    feed: Feed = AMBULANCE_HANDOVER,
    topic: str | None = None,
    key: bytes | None = KEY,
    stamp_ms: Any = STAMP_MS,
    main: bool = True,
    signer: EnvelopeSigner | None = SIGNER,
    accept_unsigned: bool = False,
) -> Envelope | Undecodable:
    """Decode a message as a worker does: on `feed`'s main topic unless told otherwise."""
    message = Fetched(0, value, stamp_ms, tuple(headers), key)
    where = topic if topic is not None else topic_for(feed, "uec.")
    return decode_message(where, feed, message, main, signer, accept_unsigned)


def signed(value: bytes, feed: Feed = AMBULANCE_HANDOVER, key: bytes = KEY) -> list[Any]:
    """Return the headers the API writes with `value` on `feed`'s topic under `key`."""
    return [SIGNER.header(topic_for(feed, "uec."), key, value)]


def signed_v1(
    value: bytes, secret: bytes = b"the-previous-secret-012", kid: str = "k1"
) -> list[Any]:
    """Return the header an older hub wrote: HMAC over the value alone."""
    return [(HEADER, f"{kid}:{hmac.new(secret, value, hashlib.sha256).hexdigest()}".encode())]


@pytest.mark.parametrize(
    ("feed", "record", "received_at"),
    [
        (AMBULANCE_HANDOVER, HANDOVER, datetime(2026, 11, 23, 10, 16, tzinfo=UTC)),
        (
            NHS111_INTERVAL,
            {"provider": "RX7", "interval_start": "2026-07-01T09:00:00Z", "calls_received": 12},
            datetime(2026, 7, 1, 10, 16, 0, 123456, tzinfo=timezone(timedelta(hours=1))),
        ),
        (ACUTE_SITREP, {"trust": "RWE", "date": "2026-03-29", "opel_level": 3}, STAMPED),
        (AMBULANCE_HANDOVER, {"handover_id": "Ünïcødé ✓"}, STAMPED),
    ],
)
def test_a_signed_envelope_round_trips_with_its_provenance_and_is_trusted(
    feed: Feed, record: dict[str, Any], received_at: datetime
) -> None:
    wire = encode_envelope(feed, record, received_at, "RX9", "sub-1", 7)
    assert loads(wire)["hub"] == 2
    decoded = decode(wire, signed(wire, feed), feed=feed)
    assert decoded == Envelope(
        feed=feed,
        record=record,
        received_at=received_at,
        source="api",
        submitter_org="RX9",
        submission_id="sub-1",
        index=7,
        trusted=True,
    )


def test_equal_records_encode_to_equal_bytes_whatever_their_key_order() -> None:
    reordered = dict(reversed(list(HANDOVER.items())))
    assert dumps(reordered) == dumps(HANDOVER)
    assert loads(dumps(HANDOVER)) == HANDOVER


@pytest.mark.parametrize("feed", list(FEEDS.values()), ids=list(FEEDS))
def test_a_bare_record_on_a_direct_topic_is_received_at_its_message_timestamp(
    feed: Feed,
) -> None:
    decoded = decode(dumps(HANDOVER), feed=feed, main=False)
    assert decoded == Envelope(feed=feed, record=HANDOVER, received_at=STAMPED, source="kafka")


def test_a_bare_record_is_not_checked_here_even_when_it_is_empty() -> None:
    # Field errors are validation's job, with reasons a trust can act on.
    decoded = decode(b"{}", main=False)
    assert isinstance(decoded, Envelope) and decoded.record == {}


def envelope(**changes: Any) -> bytes:
    doc: dict[str, Any] = {
        "hub": 2,
        "feed": "ambulance-handover",
        "received_at": "2026-11-23T10:16:00+00:00",
        "submitter_org": "RX9",
        "submission_id": "sub-1",
        "index": 0,
        "record": HANDOVER,
    }
    doc.update(changes)
    return dumps({k: v for k, v in doc.items() if v is not ...})


MALFORMED = [
    (envelope(record=...), "malformed hub envelope: record must be a JSON object"),
    (envelope(record="H-1"), "malformed hub envelope: record must be a JSON object"),
    (envelope(record=[HANDOVER]), "malformed hub envelope: record must be a JSON object"),
    (envelope(received_at=...), "malformed hub envelope: received_at"),
    (envelope(received_at=1_795_000_000), "malformed hub envelope: received_at"),
    (envelope(received_at="yesterday"), "malformed hub envelope: received_at"),
    (envelope(received_at="2026-11-23T10:16:00"), "received_at has no UTC offset"),
    (envelope(submitter_org=5), "submitter_org must be a string"),
    (envelope(submission_id=["x"]), "submission_id must be a string"),
    (envelope(index="0"), "index must be an integer"),
    (envelope(index=True), "index must be an integer"),
]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty message (a tombstone is not a record)"),
        (b"", "not valid JSON"),
        (b"handover_id=H-1", "not valid JSON"),
        (b'{"handover_id": "H-1"', "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[" * 2000, "not valid JSON"),
        (b"null", "a record must be a JSON object"),
        (b"[{}]", "a record must be a JSON object"),
        (b'"H-1"', "a record must be a JSON object"),
        (b"42", "a record must be a JSON object"),
        *MALFORMED,
    ],
)
@pytest.mark.parametrize("main", [False, True], ids=["direct topic", "main topic, signed"])
def test_a_message_that_cannot_be_read_becomes_undecodable_with_a_reason(
    value: bytes | None, reason: str, main: bool
) -> None:
    decoded = decode(value, signed(value or b"") if main else [], main=main)
    assert isinstance(decoded, Undecodable)
    assert reason in decoded.reason
    assert decoded.kind == UNDECODABLE
    assert decoded.feed is AMBULANCE_HANDOVER
    assert decoded.received_at == STAMPED
    assert decoded.original == ("" if value is None else value.decode("utf-8", "replace")[:10_000])


@pytest.mark.parametrize(
    "value", [envelope(submitter_org=None, submission_id=None, index=None), envelope(index=...)]
)
def test_an_envelope_may_leave_out_its_submitter_submission_and_index(value: bytes) -> None:
    decoded = decode(value, signed(value))
    assert isinstance(decoded, Envelope) and decoded.source == "api"


def forged(value: bytes) -> list[tuple[str, bytes]]:
    return [(HEADER, b"k2:" + b"0" * 64)]


NOT_THE_HUBS = [
    ("unsigned", lambda v: [], UNSIGNED),
    ("a made-up signature", forged, INVALID_SIGNATURE),
    ("signed with a key the hub does not hold", lambda v: [STRANGER.header(TOPIC, KEY, v)],
     INVALID_SIGNATURE),
    ("signed over other bytes", lambda v: [SIGNER.header(TOPIC, KEY, v + b" ")], INVALID_SIGNATURE),
    ("signed for another topic", lambda v: [SIGNER.header(TOPIC + "x", KEY, v)], INVALID_SIGNATURE),
    ("signed under another key", lambda v: [SIGNER.header(TOPIC, b"RX9|H-2", v)], INVALID_SIGNATURE),
    ("signed the old way (value only) but claiming v2", signed_v1, INVALID_SIGNATURE),
    ("the signature twice", lambda v: signed(v) * 2, INVALID_SIGNATURE),
]  # fmt: skip


@pytest.mark.parametrize(("how", "headers", "kind"), NOT_THE_HUBS)
def test_a_record_on_a_main_topic_without_the_hubs_signature_is_not_counted(
    how: str, headers: Any, kind: str
) -> None:
    # A producer forging an envelope for another organisation, backdated past the lateness checks.
    wire = envelope(submitter_org="RYA", received_at="2026-11-01T00:00:00+00:00")
    decoded = decode(wire, headers(wire))
    assert isinstance(decoded, Undecodable), how
    assert decoded.kind == kind, how
    assert "signature" in decoded.reason, how


def test_a_bare_record_on_a_main_topic_is_not_counted_either() -> None:
    decoded = decode(dumps(HANDOVER))
    assert isinstance(decoded, Undecodable) and decoded.kind == UNSIGNED
    assert "direct topic" in decoded.reason


def test_without_an_envelope_key_a_worker_counts_nothing_on_a_main_topic() -> None:
    wire = envelope()
    decoded = decode(wire, signed(wire), signer=None)
    assert isinstance(decoded, Undecodable) and decoded.kind == UNSIGNED
    assert "HUB_ENVELOPE_KEY" in decoded.reason


@pytest.mark.parametrize(("how", "headers", "kind"), NOT_THE_HUBS)
def test_accepting_unsigned_records_reads_them_as_bare_records_claiming_nothing(
    how: str, headers: Any, kind: str
) -> None:
    # HUB_ACCEPT_UNSIGNED=true (development): validated as the bare record it carries.
    wire = envelope(submitter_org="RYA", received_at="2026-11-01T00:00:00+00:00")
    decoded = decode(wire, headers(wire), accept_unsigned=True)
    assert decoded == Envelope(
        feed=AMBULANCE_HANDOVER, record=HANDOVER, received_at=STAMPED, source="kafka"
    ), how


def test_signatures_are_not_read_on_a_direct_topic() -> None:
    # The topic says whose records these are: even the hub's own signature claims nothing.
    wire = envelope(submitter_org="RYA")
    decoded = decode(wire, signed(wire), main=False)
    assert decoded == Envelope(
        feed=AMBULANCE_HANDOVER, record=HANDOVER, received_at=STAMPED, source="kafka"
    )


def test_envelopes_signed_with_the_previous_key_are_still_trusted_while_keys_rotate() -> None:
    wire = envelope()
    decoded = decode(wire, [OLD_SIGNER.header(TOPIC, KEY, wire)])
    assert isinstance(decoded, Envelope) and decoded.trusted


def test_a_version_1_envelope_an_older_hub_signed_is_still_trusted_for_rebuilds() -> None:
    wire = envelope(hub=1)
    decoded = decode(wire, signed_v1(wire), key=b"any key: v1 did not bind it")
    assert isinstance(decoded, Envelope) and decoded.trusted
    assert decoded.submitter_org == "RX9"


def test_a_version_1_envelope_copied_onto_another_feeds_topic_is_refused() -> None:
    # Signed over its bytes alone, it verifies anywhere; its feed must match the topic's.
    wire = envelope(hub=1)
    decoded = decode(wire, signed_v1(wire), feed=NHS111_INTERVAL)
    assert isinstance(decoded, Undecodable) and decoded.kind == UNDECODABLE
    assert "envelope of feed 'ambulance-handover', on the topic of nhs111-interval" in (
        decoded.reason
    )


@pytest.mark.parametrize(
    "header",
    [
        (HEADER, None),  # a null header value
        (HEADER, "k2:é".encode()),  # a digest that is not ASCII
        (HEADER, b"k2:" + "é".encode() * 32),
        (HEADER, b"\xff\xfe:\x00"),  # not text at all
        (HEADER, b""),
        (HEADER, b"k2"),
        (HEADER, "nöt-a-kid:abc".encode()),
        (HEADER, 42),  # not even bytes
    ],
)
def test_a_garbled_signature_header_is_an_invalid_signature_never_an_error(header: Any) -> None:
    wire = envelope()
    decoded = decode(wire, [header])
    assert isinstance(decoded, Undecodable) and decoded.kind == INVALID_SIGNATURE


@pytest.mark.parametrize(
    "stamp_ms", [2**62, 2**63 - 1, -(2**63), 253_402_300_800_000, -62_135_596_800_001, "soon"]
)
def test_a_message_timestamp_no_instant_can_hold_is_a_reason_never_an_error(stamp_ms: Any) -> None:
    decoded = decode(dumps(HANDOVER), stamp_ms=stamp_ms, main=False)
    assert isinstance(decoded, Undecodable)
    assert "timestamp" in decoded.reason and decoded.received_at == EPOCH
    # A signed envelope does not need it: the API stamped when it accepted the record.
    wire = envelope()
    assert isinstance(decode(wire, signed(wire), stamp_ms=stamp_ms), Envelope)


@pytest.mark.parametrize(
    "setting", ["k1", "k1:short", ":no-id-but-long-secret", "k1:ok-long-enough-secret,bad"]
)
def test_a_malformed_envelope_key_setting_is_refused(setting: str) -> None:
    with pytest.raises(ConfigError):
        EnvelopeSigner.from_setting(setting)


def test_the_original_of_a_huge_poison_message_is_cut_to_10000_characters() -> None:
    decoded = decode(b"x" * 50_000, main=False)
    assert isinstance(decoded, Undecodable) and decoded.original == "x" * 10_000


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
envelope_like = st.fixed_dictionaries(
    {"hub": st.sampled_from([1, 2, True, 2.0, "2"])},
    optional={
        "feed": st.sampled_from(sorted(FEEDS)) | json_values,
        "record": json_values,
        "received_at": json_values | st.datetimes().map(datetime.isoformat),
        "submitter_org": json_values,
        "submission_id": json_values,
        "index": json_values,
    },
)
values = st.none() | st.binary(max_size=200) | json_values.map(dumps) | envelope_like.map(dumps)
header_values = (
    st.none()
    | st.binary(max_size=80)
    | st.text(max_size=80).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
headers = st.lists(
    st.tuples(
        st.sampled_from([HEADER, "hub-sig ", "HUB-SIG", ""]) | st.text(max_size=10), header_values
    ),
    max_size=3,
)
timestamps = st.integers(-(2**63), 2**63 - 1) | st.sampled_from([-1, 0, STAMP_MS])


@settings(max_examples=500, deadline=None)
@given(
    value=values,
    headers=headers,
    key=st.none() | st.binary(max_size=40),
    stamp_ms=timestamps,
    topic=st.text(max_size=40) | st.just(TOPIC),
    feed=st.sampled_from(list(FEEDS.values())),
    main=st.booleans(),
    accept_unsigned=st.booleans(),
    sign=st.booleans(),
)
def test_decoding_never_raises_and_an_envelope_is_always_usable(
    value: bytes | None,
    headers: list[tuple[str, bytes | None]],
    key: bytes | None,
    stamp_ms: int,
    topic: str,
    feed: Feed,
    main: bool,
    accept_unsigned: bool,
    sign: bool,
) -> None:
    if sign and value is not None:  # a real signature among the junk, sometimes
        headers = [*headers, SIGNER.header(topic, key, value)]
    decoded = decode(
        value, headers, feed=feed, topic=topic, key=key, stamp_ms=stamp_ms, main=main,
        accept_unsigned=accept_unsigned,
    )  # fmt: skip
    assert isinstance(decoded, Envelope | Undecodable)
    assert decoded.feed is feed
    assert decoded.received_at.utcoffset() is not None
    if isinstance(decoded, Undecodable):
        assert decoded.kind in {UNDECODABLE, UNSIGNED, INVALID_SIGNATURE}
        assert decoded.reason and isinstance(decoded.original, str)
        return
    assert isinstance(decoded.record, dict)
    assert isinstance(decoded.submitter_org, str | None)
    assert isinstance(decoded.index, int | None)
    if decoded.trusted:  # only ever what the hub signed, for this topic and key
        assert main and value is not None
        assert SIGNER.check(signed_bytes(topic, key, value), headers) is Signature.VALID
        assert loads(value)["feed"] == feed.name
    elif main:
        assert accept_unsigned  # otherwise nothing unsigned is read as a record


def test_a_dead_letter_encodes_every_field_as_json() -> None:
    letter = DeadLetter(
        id="sub-1:3",
        feed="ambulance-handover",
        org="RX9",
        source="api",
        received_at="2026-11-23T10:16:00+00:00",
        reason="invalid record",
        errors=(("site", "site is required"),),
        original=HANDOVER,
        index=3,
        line=5,
    )
    assert loads(encode_dead_letter(letter)) == {
        "id": "sub-1:3",
        "feed": "ambulance-handover",
        "org": "RX9",
        "source": "api",
        "received_at": "2026-11-23T10:16:00+00:00",
        "reason": "invalid record",
        "errors": [["site", "site is required"]],
        "original": HANDOVER,
        "index": 3,
        "line": 5,
        "key": None,
        "truncated": False,
        "errors_more": 0,
    }


def test_a_huge_rejected_record_is_cut_down_so_its_dead_letter_can_be_written() -> None:
    huge = {"handover_id": "H1", "notes": "x" * 1_100_000}
    letter = DeadLetter(
        "s:0",
        "ambulance-handover",
        "RX9",
        "api:s",
        "2026-11-23T10:00:00+00:00",
        "invalid record",
        (("notes", "unknown field"),),
        huge,
    )
    encoded = encode_dead_letter(letter)
    assert len(encoded) < 2 * ORIGINAL_LIMIT
    assert loads(encoded)["truncated"] is True
    original = loads(encoded)["original"]
    assert original["truncated"] is True
    assert original["size"] > 1_100_000
    assert original["start"].startswith('{"handover_id":"H1"')


def test_an_ordinary_rejected_record_is_kept_whole_in_its_dead_letter() -> None:
    record = {"handover_id": "H1", "site": "ZZZ99"}
    letter = DeadLetter(
        "s:0",
        "ambulance-handover",
        "RX9",
        "api:s",
        "2026-11-23T10:00:00+00:00",
        "invalid record",
        (("site", "unknown"),),
        record,
    )
    assert loads(encode_dead_letter(letter))["original"] == record


def test_bytes_held_in_memory_are_the_size_of_their_json() -> None:
    # orjson's bytes keep a 4 KB buffer whatever their length: a bulk rebuild holds a
    # million records as JSON, which took gigabytes before they were copied to size.
    import tracemalloc

    record = {"handover_id": "H1", "site": "RX1RA", "arrived_at": "2026-11-01T10:00:00Z"}
    tracemalloc.start()
    try:
        held = [dumps_held({**record, "n": i}) for i in range(1_000)]
        per_value = tracemalloc.get_traced_memory()[0] / len(held)
    finally:
        tracemalloc.stop()
    assert loads(held[7]) == {**record, "n": 7}
    assert per_value < 2 * len(held[7]) + 100, per_value
