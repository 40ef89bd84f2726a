"""What a production hub refuses to start with, and what it only warns about.

A hub is in production mode when it binds beyond loopback or is told so
(`HUB_ENV=production`); a developer's `hub up` on loopback is never checked.
The facts (settings, what Redis and Kafka report) are read at start by
adapters; this module only judges them, so every verdict is testable alone.

Refused, naming the setting to change:
- `HUB_ENVELOPE_KEY` unset: no envelope could be told from a forgery;
- `HUB_ACCEPT_UNSIGNED=true` (development only): anyone who can write a main
  feed topic could add records;
- an admin token under 128 bits of entropy, or of too little variety;
- `/metrics` (figures by organisation) served beyond loopback without
  `HUB_METRICS_TOKEN`;
- a Redis `maxmemory-policy` other than `noeviction`: an evicted entity
  version makes its next correction count twice;
- a direct producer's topic stamped by the producer's clock
  (`message.timestamp.type=CreateTime`): the trust could backdate records.

Warned about, because refusing would be wrong:
- a Redis whose policy cannot be read (managed services disable CONFIG, an ACL
  may forbid INFO): the hub cannot know, and says what to set;
- a main feed topic with `CreateTime`: only the API writes there, and its
  envelopes carry a signed accept time; the broker's clock matters only for
  records that are not the API's;
- a topic whose timestamp type the broker does not report (the embedded broker
  reports only what was set explicitly).
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from dataclasses import dataclass, field

MIN_TOKEN_BITS = 128
MIN_DISTINCT = 6  # random tokens of 128 bits have 9 or more (measured over 200,000 of each kind)
LOG_APPEND = "LogAppendTime"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One finding: refused (the process must not start) or a warning, naming the setting."""

    refuse: bool
    setting: str
    message: str


@dataclass(frozen=True, slots=True)
class StartFacts:
    """What the checks look at, as the adapters read it at start."""

    role: str  # "api", "worker" or "rebuild"
    envelope_key_set: bool
    metrics_exposed: bool  # this process serves /metrics beyond loopback
    metrics_token_set: bool
    admin_token: str = ""  # the API's only
    eviction_policy: str | None = None  # None: it could not be read
    eviction_unread: str = ""  # why not
    # topic → message.timestamp.type as the broker reports it (None: not reported)
    direct_topics: Mapping[str, str | None] = field(default_factory=dict)
    feed_topics: Mapping[str, str | None] = field(default_factory=dict)
    accept_unsigned: bool = False  # a worker that applies records the API did not sign


def judge(facts: StartFacts) -> list[Verdict]:
    """Return every refusal and warning for a process starting in production mode."""
    return [
        *_envelope_key(facts),
        *_unsigned(facts),
        *_admin_token(facts),
        *_metrics(facts),
        *_eviction(facts),
        *_timestamps(facts.direct_topics, direct=True),
        *_timestamps(facts.feed_topics, direct=False),
    ]


def _envelope_key(facts: StartFacts) -> list[Verdict]:
    if facts.envelope_key_set:
        return []
    return [
        Verdict(
            True,
            "HUB_ENVELOPE_KEY",
            "HUB_ENVELOPE_KEY is not set: the API's envelopes would go unsigned, and workers could "
            "not tell them from records anyone writes to the topics. Set it to the same "
            "id:secret on every API process and worker (e.g. k1:$(openssl rand -hex 32))",
        )
    ]


def _unsigned(facts: StartFacts) -> list[Verdict]:
    if not facts.accept_unsigned:
        return []
    return [
        Verdict(
            True,
            "HUB_ACCEPT_UNSIGNED",
            "HUB_ACCEPT_UNSIGNED=true is for development only: workers would count records "
            "anyone who can write a main feed topic adds. Unset it; trusts with their own Kafka "
            "producers write their direct topics (HUB_DIRECT_PRODUCERS)",
        )
    ]


def _admin_token(facts: StartFacts) -> list[Verdict]:
    if not facts.admin_token:
        return []  # no admin token: the admin endpoints refuse everyone
    bits = token_bits(facts.admin_token)
    if bits >= MIN_TOKEN_BITS:
        return []
    return [
        Verdict(
            True,
            "HUB_ADMIN_TOKEN",
            f"HUB_ADMIN_TOKEN has about {bits:.0f} bits of entropy; production needs at least "
            f"{MIN_TOKEN_BITS} (a random token of 24 bytes: openssl rand -hex 24)",
        )
    ]


def _metrics(facts: StartFacts) -> list[Verdict]:
    if not facts.metrics_exposed or facts.metrics_token_set:
        return []
    return [
        Verdict(
            True,
            "HUB_METRICS_TOKEN",
            "/metrics would serve figures by organisation to anyone who can reach this "
            "process: set HUB_METRICS_TOKEN and give it to Prometheus "
            "(authorization.credentials_file)",
        )
    ]


def _eviction(facts: StartFacts) -> list[Verdict]:
    policy = facts.eviction_policy
    if policy == "noeviction":
        return []
    if policy is None:
        return [
            Verdict(
                False,
                "maxmemory-policy",
                f"cannot read Redis's maxmemory-policy ({facts.eviction_unread}): make sure it "
                "is noeviction (on ElastiCache, in the parameter group; its default volatile-lru "
                "evicts entity versions, and their next corrections then count twice)",
            )
        ]
    return [
        Verdict(
            True,
            "maxmemory-policy",
            f"Redis has maxmemory-policy {policy}: it may evict entity versions, and their next "
            "corrections would then count twice. Set maxmemory-policy noeviction (on "
            "ElastiCache, in the parameter group): a full Redis pauses the workers instead",
        )
    ]


def _timestamps(topics: Mapping[str, str | None], direct: bool) -> list[Verdict]:
    out = []
    for topic, stamp in sorted(topics.items()):
        setting = f"{topic} message.timestamp.type"
        if stamp is None:
            out.append(
                Verdict(
                    False,
                    setting,
                    f"the broker does not report message.timestamp.type of {topic}: make sure it "
                    f"is {LOG_APPEND}",
                )
            )
        elif stamp != LOG_APPEND and direct:
            out.append(
                Verdict(
                    True,
                    setting,
                    f"topic {topic} has message.timestamp.type={stamp}: its producer's clock "
                    "decides when its records were received, so it could backdate them past "
                    f"the lateness checks. Set message.timestamp.type={LOG_APPEND} on it",
                )
            )
        elif stamp != LOG_APPEND:
            out.append(
                Verdict(
                    False,
                    setting,
                    f"topic {topic} has message.timestamp.type={stamp}: the API's envelopes carry "
                    "their signed accept time, but anything else written there is timed by its "
                    f"producer's clock. Set message.timestamp.type={LOG_APPEND}",
                )
            )
    return out


def token_bits(token: str) -> float:
    """Estimate a token's entropy: its length times the bits a character of its alphabet carries.

    Hex digits carry 4 bits (`openssl rand -hex`), the base64 alphabets 6 (`openssl rand
    -base64`, `secrets.token_urlsafe`), anything else log2(95) of printable ASCII: so
    128 bits is 32 hex or 22 base64 characters. A token repeating a shorter block counts
    only that block; one of fewer than MIN_DISTINCT different characters counts as none.
    """
    if len(set(token)) < MIN_DISTINCT:
        return 0.0
    return _period(token) * math.log2(_alphabet(set(token)))


HEX = set(string.hexdigits.lower()) | set(string.digits)
BASE64 = set(string.ascii_letters + string.digits + "-_+/=")


def _alphabet(chars: set[str]) -> int:
    if chars <= HEX or chars <= set(string.hexdigits.upper()):
        return 16
    return 64 if chars <= BASE64 else 95


def _period(token: str) -> int:
    """Return the length of the shortest block the token repeats (its length if none)."""
    for p in range(1, len(token) // 2 + 1):
        if len(token) % p == 0 and token[:p] * (len(token) // p) == token:
            return p
    return len(token)
