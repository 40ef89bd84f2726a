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


def test_a_problem_has_a_largest_size_however_many_errors_and_however_long_the_detail() -> None:
    many = tuple(E.FieldError(f"f{n}" * 100, "m" * 10_000) for n in range(5_000))
    response = from_error(E.ValidationFailed("d" * 1_000_000, many))
    body = json.loads(bytes(response.body))
    assert len(response.body) < 20_000
    assert len(body["detail"]) == 2_000 and body["detail"].endswith("…")
    assert len(body["errors"]) == 20 and body["errors_more"] == 4_980
    assert all(len(e["message"]) <= 512 and len(e["field"]) <= 128 for e in body["errors"])


def test_a_record_kafka_refuses_is_a_500_that_names_no_host() -> None:
    response = from_error(E.RecordRefused("MessageSizeTooLargeError at kafka-1.internal:9092"))
    body = json.loads(bytes(response.body))
    assert response.status_code == 500
    assert "refused" in body["detail"] and "internal" not in body["detail"]
