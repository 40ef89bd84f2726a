"""A 503 says what is down, never where: an outage's message names internal hosts."""

from __future__ import annotations

import json

import pytest

from hub.api.problems import from_error
from hub.domain import errors as E


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (E.BrokerUnavailable("Kafka unreachable: KafkaConnectionError('kafka-1.internal:9092')"),
         "Kafka is unavailable"),
        (E.StateUnavailable("Redis unavailable: Error 111 connecting to 10.2.3.4:6379"),
         "Redis is unavailable"),
    ],
)  # fmt: skip
def test_an_outage_answers_503_naming_the_service_and_no_host(error: E.HubError, said: str) -> None:
    response = from_error(error)
    body = json.loads(bytes(response.body))
    assert response.status_code == 503 and response.headers["retry-after"]
    assert said in body["detail"]
    assert "internal" not in body["detail"] and "10.2.3.4" not in body["detail"]


def test_other_errors_keep_their_message_for_the_caller() -> None:
    body = json.loads(bytes(from_error(E.NotFound("unknown feed 'x'")).body))
    assert body["detail"] == "unknown feed 'x'"
