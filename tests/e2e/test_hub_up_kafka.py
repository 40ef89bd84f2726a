"""`hub up --kafka` runs the hub on a local Apache Kafka: its log is kept in HUB_DATA_DIR beside
Valkey's state, so after a restart the topics still hold what they held (nothing is re-read as a
new log), the figures are the same, and new records apply once; Ctrl-C stops every JVM."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from hub.domain.feeds import AMBULANCE_HANDOVER, topic_for
from hub.settings import Settings
from tests.apache_kafka import kafka_or_skip
from tests.e2e.test_hub_up import listening
from tests.e2e.test_hub_up_restart import completed, handovers, hub_up, wait_for
from tests.harness import read_to_end

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(480)]


def kafka_address(log: Path) -> str:
    found = re.search(r"Kafka\s+(127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
    assert found is not None
    return found.group(1)


def messages_in_handover_topic(bootstrap: str) -> int:
    settings = Settings(kafka_bootstrap=bootstrap)
    topic = topic_for(AMBULANCE_HANDOVER, settings.topic_prefix)
    return len(asyncio.run(read_to_end(settings, topic)))


def test_hub_up_kafka_keeps_its_log_and_figures_across_a_restart(tmp_path: Path) -> None:
    kafka_or_skip()
    data_dir = tmp_path / "hub-data"
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    with hub_up(tmp_path, data_dir, first, "--kafka") as hub:
        url, admin = hub.url, hub.admin
        r = httpx.post(f"{url}/v1/admin/tokens", json={"org": "RX9"},
                       headers={"Authorization": f"Bearer {admin}"}, timeout=10)  # fmt: skip
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        pushed = httpx.post(f"{url}/v1/feeds/ambulance-handover", json=handovers(0, 40),
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
        assert pushed.json()["accepted"] == 40
        wait_for(lambda: completed(url), 40)
    assert not listening(kafka_address(first)), "Kafka outlived hub up"
    assert (data_dir / "kafka" / "node-1" / "data" / "meta.properties").is_file()
    assert (data_dir / "valkey").is_dir()  # both logs in HUB_DATA_DIR

    with hub_up(tmp_path, data_dir, second, "--kafka") as hub:
        url = hub.url
        assert messages_in_handover_topic(kafka_address(second)) == 40  # the log survived
        assert completed(url) == 40
        resent = httpx.post(f"{url}/v1/feeds/ambulance-handover", json=handovers(30, 20),
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
        assert resent.status_code == 200, resent.text
        wait_for(lambda: completed(url), 50)  # 10 new; 10 replace their earlier versions, once
    worker_log = (data_dir / "logs" / "worker-1.log").read_text()
    assert "re-created" not in worker_log  # unlike the embedded broker's memory-only log
