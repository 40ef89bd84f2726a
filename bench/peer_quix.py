"""The peer for `bench_peer`: a Quix Streams application doing the handover job into Redis.

    python -m bench.peer_quix BOOTSTRAP TOPIC REDIS_HOST REDIS_PORT GROUP STATE_DIR

For every completed handover (an envelope whose record has `handover_at`), per site and
per minute of `handover_at` (a 1-minute tumbling window in event time): the count, the
count over 15/30/45/60 minutes and the summed duration, written to Redis hashes
`quix:{site}:{window start ms}` by Quix's own batching Redis sink. Needs the bench extra
(`quixstreams`), never a runtime dependency.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from quixstreams import Application
from quixstreams.dataframe.windows import Count, Sum
from quixstreams.sinks.community.redis import RedisSink

LINES = (15, 30, 45, 60)


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def completed_at(value: Any, headers: Any, timestamp: int, timestamp_type: Any) -> int:
    """Use the handover time as the event time; arrival-only versions keep Kafka's."""
    done = value.get("record", {}).get("handover_at") if isinstance(value, dict) else None
    return _ms(done) if done else timestamp


def row(envelope: dict[str, Any]) -> dict[str, Any]:
    record = envelope["record"]
    minutes = (_ms(record["handover_at"]) - _ms(record["arrived_at"])) / 60_000
    out: dict[str, Any] = {"site": record["site"], "dur_ms": round(minutes * 60_000)}
    for line in LINES:
        out[f"o{line}"] = int(minutes > line)
    return out


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
    topic = app.topic(topic_name, value_deserializer="json", timestamp_extractor=completed_at)
    sdf = app.dataframe(topic)
    sdf = sdf.filter(lambda env: env.get("record", {}).get("handover_at") is not None)
    sdf = sdf.apply(row)
    sdf = sdf.group_by(lambda r: r["site"], name="site")
    aggregations = {f"o{line}": Sum(f"o{line}") for line in LINES}
    windowed = (
        sdf.tumbling_window(duration_ms=60_000, grace_ms=12 * 3_600_000)
        .agg(done=Count(), dur_ms=Sum("dur_ms"), **aggregations)
        .current()
    )
    windowed.sink(
        RedisSink(
            host=redis_host,
            port=int(redis_port),
            db=0,
            key_serializer=lambda key, value: f"quix:{key}:{value['start']}",
        )
    )
    app.run()


if __name__ == "__main__":
    main(sys.argv[1:])
