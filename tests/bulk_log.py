"""A simulated log for rebuild tests: ten days of every feed for a few organisations.

The national simulators run with a small scale over a reduced reference data
(an ambulance service, two acute trusts, an NHS 111 provider), so the log is
small but has what a rebuild must get right: versions of one entity replacing
each other (a handover on arrival and at handover, ED attendances as they
progress, SitReps amended days later), records accepted long after their
event, records produced straight to the topic (validated by the workers, some
refused), a message that is not JSON, and versions of one entity on two
partitions (a producer that does not key by entity). Each record is accepted
when the simulator says it was pushed, so the log's clock runs over ten days.
"""

from __future__ import annotations

import inspect
import random
import shutil
import zlib
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from hub.adapters.codec import encode_envelope
from hub.adapters.reference_files import load_reference_data
from hub.adapters.signing import EnvelopeSigner
from hub.domain.feeds import FEEDS, topic_for
from hub.domain.orgs import ReferenceData, Site
from hub.domain.validation import Invalid, entity_key, to_canonical, validate
from hub.settings import Settings
from hub.simulation.ed import EdSimulator
from hub.simulation.handovers import HandoverSimulator
from hub.simulation.incidents import IncidentSimulator
from hub.simulation.nhs111 import Nhs111Simulator
from hub.simulation.push import Push
from hub.simulation.sitreps import AcuteSitrepSimulator, AmbulanceSitrepSimulator

ROOT = Path(__file__).resolve().parent.parent
DAY_MS = 86_400_000
KEPT = {"RX9", "RWE", "RX1", "NNJ"}
MOVED_SITE, FROM_TRUST, TO_TRUST = "RWEAA", "RWE", "RX1"  # the merger the rebuild restates
SIMULATORS = (
    HandoverSimulator,
    IncidentSimulator,
    EdSimulator,
    Nhs111Simulator,
    AcuteSitrepSimulator,
    AmbulanceSitrepSimulator,
)


class FixedClock:
    """A clock that always says the same instant (picklable, for rebuild jobs' processes)."""

    def __init__(self, at_ms: int) -> None:
        self.at_ms = at_ms

    def __call__(self) -> int:
        return self.at_ms


def few_organisations(full: ReferenceData) -> ReferenceData:
    orgs = [o for code, o in full.organisations.items() if code in KEPT]
    sites = [s for s in full.sites.values() if s.trust in KEPT]
    return ReferenceData.build(full.regions.values(), orgs, sites)


def simulate(now_ms: int, days: float = 10.0, scale: float = 0.006, seed: int = 26) -> list[Push]:
    """Return the pushes of `days` before `now_ms`, in the order they were pushed."""
    ref = few_organisations(load_reference_data(ROOT / "config"))
    rng = random.Random(seed)
    sims = [
        s(
            ref,
            rng,
            "rb",
            **({"scale": scale} if "scale" in inspect.signature(s).parameters else {}),
        )
        for s in SIMULATORS
    ]
    start = now_ms - int(days * DAY_MS)
    return sorted(p for s in sims for p in s.advance(start, now_ms) if p.due_ms <= now_ms)


async def produce(settings: Settings, pushes: list[Push], partitions: int) -> int:
    """Write the pushes as the API and a few direct producers would; return messages written."""
    ref = load_reference_data(ROOT / "config")
    signer = EnvelopeSigner.from_setting(settings.envelope_key)
    assert signer is not None
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=10)
    await producer.start()
    sent = 0
    try:
        for i, push in enumerate(pushes):
            topic = topic_for(FEEDS[push.feed], settings.topic_prefix)
            for value, key, partition, headers in _messages(
                ref, signer, topic, push, i, partitions
            ):
                await producer.send(
                    topic, value, key=key, partition=partition, headers=headers,
                    timestamp_ms=push.due_ms,
                )  # fmt: skip
                sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


def _messages(
    ref: ReferenceData, signer: EnvelopeSigner, topic: str, push: Push, i: int, partitions: int
) -> list[tuple[bytes, bytes | None, int | None, list[tuple[str, bytes]]]]:
    feed = FEEDS[push.feed]
    received = datetime.fromtimestamp(push.due_ms / 1000, tz=UTC)
    record = validate(feed, push.record, ref=ref, received_at=received, submitter_org=push.org)
    assert not isinstance(record, Invalid), record
    key = entity_key(feed, record)
    spin = zlib.crc32(f"{key}:{i}".encode()) % 200
    if spin == 0:  # a trust's own producer on a main topic: unsigned, so a dead letter
        return [(orjson.dumps(push.record), key.encode(), None, [])]
    if spin == 1:  # refused by the workers: a dead letter, never a version
        return [(orjson.dumps({**push.record, "site": "NOPE1"}), key.encode(), None, [])]
    if spin == 2 and i % 7 == 0:  # not JSON at all
        return [(b"\x00not json", None, None, [])]
    value = encode_envelope(feed, to_canonical(feed, record), received, push.org, "rb", i)
    # A producer not keying by entity: this version lands on a partition of its own choosing.
    partition = zlib.crc32(key.encode()) % partitions if spin in (3, 4, 5) else None
    return [(value, key.encode(), partition, [signer.header(topic, key.encode(), value)])]


def merged_config(into: Path) -> Path:
    """Write a config directory where the moved site belongs to another trust (a merger)."""
    into.mkdir(parents=True, exist_ok=True)
    for name in ("thresholds.toml", "opel.toml"):
        shutil.copy(ROOT / "config" / name, into / name)
    full = load_reference_data(ROOT / "config")
    moved = full.sites[MOVED_SITE]
    sites = {**full.sites, MOVED_SITE: Site(moved.code, moved.name, TO_TRUST)}
    (into / "organisations.toml").write_text(_toml(full, sites), encoding="utf-8")
    return into


def _toml(ref: ReferenceData, sites: dict[str, Site]) -> str:
    out: list[str] = []
    for r in ref.regions.values():
        out += ["[[regions]]", f"code = {_q(r.code)}", f"name = {_q(r.name)}", ""]
    for o in ref.organisations.values():
        out += [
            "[[organisations]]",
            f"code = {_q(o.code)}",
            f"name = {_q(o.name)}",
            f"region = {_q(o.region)}",
            f"roles = [{', '.join(_q(r) for r in o.roles)}]",
        ]
        own = [s for s in sites.values() if s.trust == o.code]
        if own:
            items = ", ".join(f"{{ code = {_q(s.code)}, name = {_q(s.name)} }}" for s in own)
            out.append(f"sites = [{items}]")
        out.append("")
    return "\n".join(out)


def _q(text: str) -> str:
    return orjson.dumps(text).decode()
