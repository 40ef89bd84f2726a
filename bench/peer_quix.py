"""The peer for `bench_peer`: a Quix Streams application doing the handover job into Redis.

    python -m bench.peer_quix BOOTSTRAP TOPIC REDIS_HOST REDIS_PORT GROUP STATE_DIR

For every completed handover (an envelope whose record has `handover_at`), per site and
per minute of `handover_at`: the count, the count over 15/30/45/60 minutes and the summed
duration, kept in Quix's state store per (site, minute) key and written as JSON to Redis
keys `quix:{site}:{minute start ms}` by Quix's own batching Redis sink. (Keyed state rather
than Quix's event-time windows: those drop records arriving after a window closed, and
completions reach the topic in arrival order, not in order of `handover_at`.) Needs the bench extra
(`quixstreams`), never a runtime dependency.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from quixstreams import Application
from quixstreams.sinks.community.redis import RedisSink

LINES = (15, 30, 45, 60)


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def row(envelope: dict[str, Any]) -> dict[str, Any]:
    """Return a completed handover's site, minute and the figures it adds."""
    record = envelope["record"]
    done = _ms(record["handover_at"])
    minutes = (done - _ms(record["arrived_at"])) / 60_000
    out: dict[str, Any] = {
        "key": f"{record['site']}:{done // 60_000 * 60_000}",
        "dur_ms": round(minutes * 60_000),
    }
    for line in LINES:
        out[f"o{line}"] = int(minutes > line)
    return out


def add(value: dict[str, Any], state: Any) -> dict[str, Any]:
    """Keep the (site, minute)'s running totals in Quix state; emit them."""
    totals = state.get("totals") or {"done": 0, "dur_ms": 0, **{f"o{n}": 0 for n in LINES}}
    totals["done"] += 1
    for name in ("dur_ms", *(f"o{n}" for n in LINES)):
        totals[name] += value[name]
    state.set("totals", totals)
    return dict(totals)


def main(argv: list[str]) -> None:
    bootstrap, topic_name, redis_host, redis_port, group, state_dir = argv
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        use_changelog_topics=False,
        state_dir=state_dir,
        commit_interval=1.0,
    )
    sdf = app.dataframe(app.topic(topic_name, value_deserializer="json"))
    sdf = sdf.filter(lambda env: env.get("record", {}).get("handover_at") is not None)
    sdf = sdf.apply(row)
    # One key per site and minute of handover_at: a 1-minute tumbling window by event time.
    sdf = sdf.group_by(lambda r: r["key"], name="site_minute")
    sdf = sdf.apply(add, stateful=True)
    sdf.sink(
        RedisSink(
            host=redis_host,
            port=int(redis_port),
            db=0,
            key_serializer=lambda key, value: (
                f"quix:{key.decode() if isinstance(key, bytes) else key}"
            ),
        )
    )
    app.run()


if __name__ == "__main__":
    main(sys.argv[1:])
