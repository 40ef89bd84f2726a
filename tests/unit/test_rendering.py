"""The read model rendered at the HTTP edge: each snapshot encoded once, its ETag of its content."""

from __future__ import annotations

import json
from datetime import date

from hub.api.caching import rendered
from hub.api.json_types import JsonObject
from hub.api.render import figure_json, figures_json
from hub.api.sse import frames
from hub.domain.figures import Coverage, Figure, Reading, ScopeFigures
from hub.domain.metrics import CATALOGUE
from hub.domain.quality import Quality
from hub.domain.scopes import ScopeRef
from hub.domain.triage import Basis, Judgement
from hub.services.events import FiguresChanged
from hub.services.snapshots import Snapshot

NATIONAL = ScopeRef("national", None, "England")
AT = 1_764_000_000_000  # 2025-11-24T16:00:00Z
OVER_60 = CATALOGUE["handover.over_60"]


def national(over_60_4h: int, as_of_ms: int) -> ScopeFigures:
    windows = {"15m": 0, "1h": 1, "4h": over_60_4h, "24h": 9}
    figure = Figure(Reading(OVER_60, windows=windows), Judgement("green", over_60_4h))
    return ScopeFigures(NATIONAL, {OVER_60.id: figure}, as_of_ms)


class Counting:
    """A renderer that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, figures: ScopeFigures) -> tuple[int, JsonObject]:
        self.calls += 1
        return figures_json(figures)


def test_a_snapshot_is_rendered_once_for_every_reader_and_every_stream() -> None:
    snapshot = Snapshot(national(3, AT), 7, AT)
    counting = Counting()
    first = rendered(snapshot, counting)
    assert rendered(snapshot, counting) is first and counting.calls == 1
    event = FiguresChanged(snapshot)
    viewers = [frames([event]) for _ in range(100)]
    assert all(v == viewers[0] for v in viewers)
    assert viewers[0].startswith(b"event: metrics\r\nid: 7\r\ndata: ")
    assert viewers[0].split(b"data: ", 1)[1].rstrip(b"\r\n") == first.data  # the body's bytes


def test_the_body_is_the_content_with_as_of_and_its_etag_is_of_the_content_alone() -> None:
    body = rendered(Snapshot(national(3, AT), 1, AT), figures_json)
    later = rendered(Snapshot(national(3, AT + 60_000), 1, AT), figures_json)
    changed = rendered(Snapshot(national(4, AT + 60_000), 2, AT + 60_000), figures_json)
    doc = json.loads(body.data)
    assert doc["as_of"] == "2025-11-24T16:00:00Z"
    assert {k: v for k, v in doc.items() if k != "as_of"} == json.loads(
        json.dumps(figures_json(national(3, AT))[1])
    )
    assert later.data != body.data and later.etag == body.etag  # as_of is not content
    assert changed.etag != body.etag and body.etag.startswith('W/"')
    assert body.last_modified == "Mon, 24 Nov 2025 16:00:00 GMT"


def test_a_share_judged_and_a_late_input_are_said_on_the_figure() -> None:
    basis = Basis("4h", 6, 3.0, 0, 5, "lower", of="handover.completed", denominator=200)
    quality = Quality("late", 0, 1, 47, "data 47 min old — feed late", True)
    figure = Figure(
        Reading(OVER_60, windows={"15m": 0, "1h": 1, "4h": 6, "24h": 9}),
        Judgement("unknown", 3.0, basis),
        quality,
    )
    assert figure_json(figure) == {
        "unit": "count",
        "windows": {"15m": 0, "1h": 1, "4h": 6, "24h": 9},
        "rag": "unknown",
        "judged": {
            "window": "4h", "count": 6, "of": "handover.completed", "denominator": 200,
            "unit": "percent", "value": 3.0, "green": 0, "red": 5, "better": "lower",
        },
        "quality": {
            "status": "late", "live": 0, "expected": 1, "age_minutes": 47,
            "text": "data 47 min old — feed late",
        },
    }  # fmt: skip


def test_a_sitrep_figure_says_its_date_and_coverage_and_one_never_sent_says_nothing() -> None:
    beds = CATALOGUE["beds.ga_occupancy_pct"]
    sent = Reading(beds, value=93.5, date=date(2026, 1, 1), coverage=Coverage(40, 48))
    assert figure_json(Figure(sent, Judgement("red", 93.5))) == {
        "unit": beds.unit,
        "value": 93.5,
        "date": "2026-01-01",
        "coverage": {"submitted": 40, "expected": 48},
        "rag": "red",
    }
    assert figure_json(Figure(Reading(beds), Judgement("none", None))) == {
        "unit": beds.unit, "value": None, "date": None, "coverage": None, "rag": "none",
    }  # fmt: skip
