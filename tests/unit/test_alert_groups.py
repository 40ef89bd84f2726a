"""Alerts grouped per page, and new / ongoing / worsening from a group's memory."""

from __future__ import annotations

from typing import Any

from hub.domain import alert_groups as G

NATIONAL = {"type": "national", "code": None, "name": "England"}
MIDLANDS = {"type": "region", "code": "Y60", "name": "Midlands"}
EVERYWHERE = {"national", "region/Y60", "region/Y56", "org/RWE", "org/RX1", "org/R1H"}
MIDLANDS_PAGE = {"region/Y60", "org/RWE", "org/RX1"}


def alert(kind: str, scope: str, severity: str = "red", metric: str = "handover.over_60",
          value: float | None = None) -> dict[str, Any]:  # fmt: skip
    t, _, code = scope.partition("/")
    ref = {"type": t, "code": code or None, "name": code or "England"}
    out: dict[str, Any] = {"id": f"{kind}:{metric}:{scope}", "type": kind, "severity": severity,
                           "scope": ref, "title": "Handovers over 60", "region": None}  # fmt: skip
    if kind == "feed":
        out["feed"] = metric
    else:
        out |= {"metric": metric, "value": value, "better": "lower"}
    return out


def test_a_region_alert_lists_its_trusts_instead_of_repeating_them() -> None:
    alerts = [alert("threshold", "region/Y60", value=7.0), alert("threshold", "org/RWE", value=12.0),
              alert("threshold", "org/RX1", value=11.0), alert("threshold", "org/R1H")]  # fmt: skip
    (group,) = G.group(alerts, MIDLANDS, MIDLANDS_PAGE)
    assert group["id"] == "metric:handover.over_60:region/Y60"
    assert [a["id"] for a in group["own"]] == ["threshold:handover.over_60:region/Y60"]
    assert [m["scope"]["code"] for m in group["members"]] == ["RWE", "RX1"]
    assert group["counts"] == {"org": 2}


def test_without_its_own_breach_a_page_rolls_its_members_up_into_one_alert() -> None:
    alerts = [alert("threshold", f"org/{o}") for o in ("RWE", "RX1", "R1H")]
    alerts += [
        alert("spc", "region/Y60", "amber"),
        alert("feed", "org/RWE", "amber", "ed-attendance"),
    ]
    groups = {g["id"]: g for g in G.group(alerts, NATIONAL, EVERYWHERE)}
    assert set(groups) == {"metric:handover.over_60:national", "feed:ed-attendance:national"}
    rolled = groups["metric:handover.over_60:national"]
    assert rolled["own"] == [] and rolled["severity"] == "red"
    assert rolled["counts"] == {"org": 3, "region": 1} and rolled["types"] == ["spc", "threshold"]


def test_a_scope_in_breach_twice_is_one_member() -> None:
    members = G.members([alert("spc", "org/RWE", "amber", value=40.0),
                         alert("threshold", "org/RWE", "red", value=12.0)])  # fmt: skip
    assert len(members) == 1
    assert members[0]["severity"] == "red" and members[0]["value"] == 12.0
    assert sorted(members[0]["types"]) == ["spc", "threshold"]


def test_a_mark_is_worse_with_a_higher_severity_more_scopes_or_a_clearly_worse_value() -> None:
    peak = G.Mark(2, 3, 10.0, "lower")
    assert G.Mark(2, 4, 10.0, "lower").worse_than(peak)
    assert not G.Mark(2, 2, 50.0, "lower").worse_than(peak)
    assert G.Mark(2, 3, 11.5, "lower").worse_than(peak)
    assert not G.Mark(2, 3, 10.5, "lower").worse_than(peak)  # within 10%: noise
    assert G.Mark(2, 3, 8.0, "higher").worse_than(G.Mark(2, 3, 10.0, "higher"))


def test_a_group_is_new_then_ongoing_and_worsening_for_half_an_hour_after_it_gets_worse() -> None:
    start = 1_000_000_000_000
    memory = G.advance(None, G.Mark(1, 1), start)
    assert G.status_of(memory, start) == "new"
    later = start + G.NEW_FOR_MS
    memory = G.advance(memory, G.Mark(1, 1), later)
    assert G.status_of(memory, later) == "ongoing" and memory["since"] == start
    memory = G.advance(memory, G.Mark(2, 1), later + 1)
    assert G.status_of(memory, later + 1) == "worsening" and memory["worsened_at"] == later + 1
    memory = G.advance(memory, G.Mark(2, 1), later + G.WORSENING_FOR_MS + 1)
    assert G.status_of(memory, later + G.WORSENING_FOR_MS + 1) == "ongoing"


def test_what_needs_a_person_comes_first_then_severity_status_and_age() -> None:
    groups = [
        {"id": "a", "severity": "red", "status": "ongoing", "since_ms": 1, "ack": {"by": "Jo"}, "types": ["threshold"]},
        {"id": "b", "severity": "amber", "status": "new", "since_ms": 5, "ack": None, "types": ["spc"]},
        {"id": "c", "severity": "red", "status": "ongoing", "since_ms": 2, "ack": None, "types": ["threshold"]},
        {"id": "d", "severity": "red", "status": "worsening", "since_ms": 9, "ack": None, "types": ["feed"]},
        {"id": "e", "severity": "info", "status": "new", "since_ms": 1, "ack": None, "types": ["spc"]},
    ]  # fmt: skip
    assert [g["id"] for g in sorted(groups, key=G.order)] == ["d", "c", "b", "a", "e"]
    summary = G.summary(groups)
    assert summary["needs_attention"] == 3 and summary["acknowledged"] == 1
    assert summary["red"] == 3 and summary["by_type"] == {"threshold": 2, "spc": 2, "feed": 1}
