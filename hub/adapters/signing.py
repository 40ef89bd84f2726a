"""Envelopes the API writes are signed, so workers can tell them from anything else on a topic.

The API signs each envelope's exact bytes with HMAC-SHA256 under a key shared
by API processes and workers (`HUB_ENVELOPE_KEY`), and puts `key id:signature`
in the message's `hub-sig` header. A worker that verifies the signature trusts
the envelope: the API validated the record, attributed it to the submitting
organisation and stamped when it accepted it, so the worker need not validate
it again. Anything unsigned or badly signed is treated as a bare record from
whoever produced it to the topic: validated, with no organisation claimed,
and judged late or not by the broker's timestamp. Anyone who can write to a
topic can therefore neither submit for another organisation through a forged
envelope nor backdate records past the lateness checks.

Keys rotate: `HUB_ENVELOPE_KEY="k2:new-secret,k1:old-secret"` signs with the
first and verifies with any, so workers accept both while old envelopes drain.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from hub.domain.errors import ConfigError

HEADER = "hub-sig"


class EnvelopeSigner:
    """Sign with the first key; verify with any of them."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ConfigError("HUB_ENVELOPE_KEY names no key")
        self._keys = {kid: _Hmac(secret) for kid, secret in keys}
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

    def header(self, value: bytes) -> tuple[str, bytes]:
        """Return the header carrying this message's signature."""
        digest = self._keys[self._current].hexdigest(value)
        return HEADER, f"{self._current}:{digest}".encode()

    def verifies(self, value: bytes, headers: Sequence[tuple[str, bytes]]) -> bool:
        """Say whether the message carries a valid signature by one of our keys."""
        for name, raw in headers:
            if name != HEADER:
                continue
            kid, _, digest = raw.decode(errors="replace").partition(":")
            key = self._keys.get(kid)
            if key is None:
                return False
            return hmac.compare_digest(key.hexdigest(value), digest)
        return False


class _Hmac:
    """HMAC-SHA256 under one key, its padded key states hashed once (RFC 2104).

    Workers verify every envelope they read: starting from the two states
    instead of the key takes about half the time of `hmac.new` per message.
    """

    BLOCK = 64  # SHA-256's block size in bytes

    def __init__(self, key: bytes) -> None:
        if len(key) > self.BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(self.BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def hexdigest(self, value: bytes) -> str:
        inner = self._inner.copy()
        inner.update(value)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()
