"""Envelopes the API writes are signed, so workers count only what the API accepted.

The API signs each envelope with HMAC-SHA256 under a key shared by API
processes and workers (`HUB_ENVELOPE_KEY`), and puts `key id:signature` in the
message's one `hub-sig` header. What it signs (version 2) is the topic, the
message key and the envelope's exact bytes, which hold the feed, the record,
the submitting organisation and when the API accepted it. A worker that
verifies the signature trusts the envelope: the API validated the record,
attributed it to the submitting organisation and stamped when it accepted it.

On a main feed topic nothing else is counted: a record without a valid
signature is dead-lettered (unless `HUB_ACCEPT_UNSIGNED=true`, for
development), so a producer that can write the topic but does not hold the key
can neither submit for any organisation nor backdate records. A signed
envelope copied to another topic or under another key no longer verifies; one
copied back onto its own topic later is refused as a replay once its entity's
stored version may have expired (`hub.domain.plan.replayed`). Trusts' own
producers write their per-organisation direct topics, where records are the
topic owner's and signatures are not read.

Version 1 envelopes (signed over their bytes only, by hubs before topic and key
were bound) still verify, so a rebuild can replay a log that holds them: their
bytes bind feed and accept time, the feed must match the topic, and the replay
rule applies; the API no longer writes them.

Keys rotate: `HUB_ENVELOPE_KEY="k2:new-secret,k1:old-secret"` signs with the
first and verifies with any, so workers accept both while old envelopes drain.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import struct
from collections.abc import Sequence

from hub.domain.errors import ConfigError

HEADER = "hub-sig"
_V2 = b"uec-hub envelope v2\n"


class Signature(enum.Enum):
    """What a message's `hub-sig` header says about it."""

    VALID = "valid"
    MISSING = "missing"  # no `hub-sig` header at all
    INVALID = "invalid"  # a header that does not verify (unknown key, garbled, forged)


def signed_bytes(topic: str, key: bytes | None, value: bytes) -> bytes:
    """Return what a version 2 signature covers: topic, message key and value, unambiguously."""
    k = key or b""
    return b"".join((_topic_part(topic), struct.pack(">I", len(k)), k, value))


@functools.lru_cache(maxsize=256)
def _topic_part(topic: str) -> bytes:
    name = topic.encode("utf-8", "surrogateescape")
    return _V2 + struct.pack(">I", len(name)) + name


class EnvelopeSigner:
    """Sign with the first key; verify with any of them."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ConfigError("HUB_ENVELOPE_KEY names no key")
        self._keys = {kid.encode(): secret for kid, secret in keys}
        self._current = keys[0][0]

    @classmethod
    def from_setting(cls, value: str) -> EnvelopeSigner | None:
        """Parse `id:secret[,id:secret…]`; None when unset (envelopes go unsigned)."""
        if not value.strip():
            return None
        keys: list[tuple[str, bytes]] = []
        for part in value.split(","):
            kid, sep, secret = part.strip().partition(":")
            if not sep or not kid or len(secret) < 16:
                raise ConfigError(
                    "HUB_ENVELOPE_KEY must be id:secret[,id:secret…], each secret of at least "
                    "16 characters"
                )
            keys.append((kid, secret.encode()))
        return cls(keys)

    def header(self, topic: str, key: bytes | None, value: bytes) -> tuple[str, bytes]:
        """Return the header carrying this message's (version 2) signature."""
        secret = self._keys[self._current.encode()]
        digest = hmac.digest(secret, signed_bytes(topic, key, value), hashlib.sha256).hex()
        return HEADER, f"{self._current}:{digest}".encode()

    def check(self, signed: bytes, headers: Sequence[tuple[object, object]]) -> Signature:
        """Say whether the message's one `hub-sig` header is a valid signature of `signed`.

        Whatever the headers hold (a null value, bytes that are not text, several
        signatures), the answer is a Signature, never an exception.
        """
        found = [raw for name, raw in headers if name == HEADER]
        if not found:
            return Signature.MISSING
        if len(found) > 1 or not isinstance(found[0], bytes):
            return Signature.INVALID  # the API writes exactly one
        kid, _, digest = found[0].partition(b":")
        secret = self._keys.get(kid)
        if secret is None:
            return Signature.INVALID
        expected = hmac.digest(secret, signed, hashlib.sha256).hex().encode()
        return Signature.VALID if hmac.compare_digest(expected, digest) else Signature.INVALID
