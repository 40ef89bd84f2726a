"""JSON on feed topics: hub envelopes, bare records from trusts' producers, and poison messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.adapters.codec import (
    ORIGINAL_LIMIT,
    decode_message,
    dumps,
    encode_dead_letter,
    encode_envelope,
    loads,
)
from hub.adapters.signing import HEADER, EnvelopeSigner
from hub.domain.envelope import Envelope, Undecodable
from hub.domain.errors import ConfigError
from hub.domain.feeds import ACUTE_SITREP, AMBULANCE_HANDOVER, FEEDS, NHS111_INTERVAL, Feed
from hub.ports import DeadLetter

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
    decoded = decode_message(feed, wire, STAMP_MS, [SIGNER.header(wire)], SIGNER)
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
def test_a_bare_record_from_a_trusts_producer_is_received_at_its_message_timestamp(
    feed: Feed,
) -> None:
    decoded = decode_message(feed, dumps(HANDOVER), STAMP_MS)
    assert decoded == Envelope(feed=feed, record=HANDOVER, received_at=STAMPED, source="kafka")


def test_a_bare_record_is_not_checked_here_even_when_it_is_empty() -> None:
    # Field errors are validation's job, with reasons a trust can act on.
    decoded = decode_message(AMBULANCE_HANDOVER, b"{}", STAMP_MS)
    assert isinstance(decoded, Envelope) and decoded.record == {}


def envelope(**changes: Any) -> bytes:
    doc: dict[str, Any] = {
        "hub": 1,
        "feed": "ambulance-handover",
        "received_at": "2026-11-23T10:16:00+00:00",
        "submitter_org": "RX9",
        "submission_id": "sub-1",
        "index": 0,
        "record": HANDOVER,
    }
    doc.update(changes)
    return dumps({k: v for k, v in doc.items() if v is not ...})


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
    ],
)
def test_a_message_that_cannot_be_read_becomes_undecodable_with_a_reason(
    value: bytes | None, reason: str
) -> None:
    decoded = decode_message(AMBULANCE_HANDOVER, value, STAMP_MS)
    assert isinstance(decoded, Undecodable)
    assert reason in decoded.reason
    assert decoded.feed is AMBULANCE_HANDOVER
    assert decoded.received_at == STAMPED
    assert decoded.original == ("" if value is None else value.decode("utf-8", "replace")[:10_000])


@pytest.mark.parametrize(
    "value", [envelope(submitter_org=None, submission_id=None, index=None), envelope(index=...)]
)
def test_an_envelope_may_leave_out_its_submitter_submission_and_index(value: bytes) -> None:
    decoded = decode_message(AMBULANCE_HANDOVER, value, STAMP_MS, [SIGNER.header(value)], SIGNER)
    assert isinstance(decoded, Envelope) and decoded.source == "api"


def forged(value: bytes) -> list[tuple[str, bytes]]:
    return [(HEADER, b"k2:" + b"0" * 64)]


@pytest.mark.parametrize(
    ("how", "headers"),
    [
        ("unsigned", lambda v: []),
        ("a made-up signature", forged),
        ("signed with a key the hub does not hold", lambda v: [STRANGER.header(v)]),
        ("signed over other bytes", lambda v: [SIGNER.header(v + b" ")]),
    ],
)  # fmt: skip
def test_an_envelope_not_signed_by_the_hub_is_read_as_a_bare_record_claiming_nothing(
    how: str, headers: Any
) -> None:
    # A producer forging an envelope for another organisation, backdated past the lateness checks.
    wire = envelope(submitter_org="RYA", received_at="2026-11-01T00:00:00+00:00")
    decoded = decode_message(AMBULANCE_HANDOVER, wire, STAMP_MS, headers(wire), SIGNER)
    assert decoded == Envelope(
        feed=AMBULANCE_HANDOVER, record=HANDOVER, received_at=STAMPED, source="kafka"
    ), how


def test_envelopes_signed_with_the_previous_key_are_still_trusted_while_keys_rotate() -> None:
    wire = envelope()
    decoded = decode_message(AMBULANCE_HANDOVER, wire, STAMP_MS, [OLD_SIGNER.header(wire)], SIGNER)
    assert isinstance(decoded, Envelope) and decoded.trusted


@pytest.mark.parametrize(
    "setting", ["k1", "k1:short", ":no-id-but-long-secret", "k1:ok-long-enough-secret,bad"]
)
def test_a_malformed_envelope_key_setting_is_refused(setting: str) -> None:
    with pytest.raises(ConfigError):
        EnvelopeSigner.from_setting(setting)


def test_the_original_of_a_huge_poison_message_is_cut_to_10000_characters() -> None:
    decoded = decode_message(AMBULANCE_HANDOVER, b"x" * 50_000, STAMP_MS)
    assert isinstance(decoded, Undecodable) and decoded.original == "x" * 10_000


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
envelope_like = st.fixed_dictionaries(
    {"hub": st.just(1)},
    optional={
        "record": json_values,
        "received_at": json_values | st.datetimes().map(datetime.isoformat),
        "submitter_org": json_values,
        "submission_id": json_values,
        "index": json_values,
    },
)


@given(st.one_of(st.binary(max_size=200), json_values.map(dumps), envelope_like.map(dumps)))
def test_decoding_never_raises_and_an_envelope_is_always_usable(value: bytes) -> None:
    decoded = decode_message(AMBULANCE_HANDOVER, value, STAMP_MS)
    assert isinstance(decoded, Envelope | Undecodable)
    if isinstance(decoded, Envelope):
        assert isinstance(decoded.record, dict)
        assert decoded.received_at.utcoffset() is not None
        assert isinstance(decoded.submitter_org, str | None)
        assert isinstance(decoded.index, int | None)


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


def test_signatures_are_hmac_sha256_for_keys_of_every_length() -> None:
    # The signer starts from precomputed key states; any key must still sign as RFC 2104 says.
    import hashlib
    import hmac

    for length in (16, 31, 63, 64, 65, 100, 128, 200):
        secret = "k" * length
        signer = EnvelopeSigner.from_setting(f"kid:{secret}")
        assert signer is not None
        for value in (b"", b"{}", b"x" * 1000):
            expected = hmac.new(secret.encode(), value, hashlib.sha256).hexdigest()
            assert signer.header(value) == (HEADER, f"kid:{expected}".encode())
            assert signer.verifies(value, [signer.header(value)])
