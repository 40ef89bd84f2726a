"""Group alerts for a page, and say which are new, ongoing or worsening (issue 15).

A page shows one alert per metric (or feed) for its scope, listing the
scopes beneath it that breach instead of repeating the same alert for each:
England's "handovers over 60 minutes" names the regions and trusts in breach;
a region's names its trusts. A group whose own scope does not breach is a
roll-up ("3 trusts in Midlands").

Each group keeps a small memory between computations: when it began, its
worst mark so far, and when it last got worse. A group is `worsening` for
`WORSENING_FOR_MS` after its mark (severity, then how many scopes breach, then
its own value) passes the worst seen before; otherwise `new` for `NEW_FOR_MS`
after it began, and `ongoing` after that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SEVERITY_ORDER = {"red": 0, "amber": 1, "info": 2}
SEVERITY_SCORE = {"red": 2, "amber": 1, "info": 0}
STATUS_ORDER = {"worsening": 0, "new": 1, "ongoing": 2}
SCOPE_ORDER = {"national": 0, "region": 1, "org": 2, "site": 3}
NEW_FOR_MS = 15 * 60_000
WORSENING_FOR_MS = 30 * 60_000
VALUE_STEP = 0.10  # a value at least 10% worse than the worst seen is worse


def scope_key(scope: Mapping[str, Any]) -> str:
    return "national" if scope["code"] is None else f"{scope['type']}/{scope['code']}"


def subject(alert: Mapping[str, Any]) -> tuple[str, str]:
    """Return what an alert is about: ("metric", id) or ("feed", name)."""
    return ("feed", alert["feed"]) if alert["type"] == "feed" else ("metric", alert["metric"])


def group(
    alerts: Iterable[Mapping[str, Any]], root: Mapping[str, Any], within: set[str]
) -> list[dict[str, Any]]:
    """Return the groups of `root`'s page: one per subject, from the alerts within it."""
    key = scope_key(root)
    by_subject: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for alert in alerts:
        if scope_key(alert["scope"]) in within:
            by_subject.setdefault(subject(alert), []).append(alert)
    out = []
    for (kind, name), items in by_subject.items():
        own = [a for a in items if scope_key(a["scope"]) == key]
        below = [a for a in items if scope_key(a["scope"]) != key]
        worst = min(items, key=lambda a: SEVERITY_ORDER[a["severity"]])
        out.append(
            {
                "id": f"{kind}:{name}:{key}",
                kind: name,
                "scope": dict(root),
                "severity": worst["severity"],
                "title": (own or items)[0]["title"],
                "types": sorted({a["type"] for a in items}),
                "own": [dict(a) for a in own],
                "members": members(below),
                "counts": _counts(below),
            }
        )
    return out


def members(alerts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return one entry per scope in breach (its alerts merged), worst first."""
    by_scope: dict[str, dict[str, Any]] = {}
    for a in alerts:
        key = scope_key(a["scope"])
        entry = by_scope.setdefault(
            key,
            {"scope": a["scope"], "region": a.get("region"), "severity": a["severity"],
             "types": [], "ids": []},
        )  # fmt: skip
        entry["types"].append(a["type"])
        entry["ids"].append(a["id"])
        if SEVERITY_ORDER[a["severity"]] < SEVERITY_ORDER[entry["severity"]]:
            entry["severity"] = a["severity"]
        if a["type"] != "spc" or "value" not in entry:  # a threshold's judged value comes first
            for k in ("value", "unit", "status"):
                if k in a:
                    entry[k] = a[k]
    return sorted(
        by_scope.values(),
        key=lambda m: (SEVERITY_ORDER[m["severity"]], SCOPE_ORDER[m["scope"]["type"]],
                       m["scope"]["code"] or ""),
    )  # fmt: skip


def _counts(alerts: list[Mapping[str, Any]]) -> dict[str, int]:
    scopes: dict[str, set[str]] = {}
    for a in alerts:
        scopes.setdefault(a["scope"]["type"], set()).add(scope_key(a["scope"]))
    return {kind: len(keys) for kind, keys in scopes.items()}


@dataclass(frozen=True, slots=True)
class Mark:
    """How bad a group is now: severity score, scopes in breach, and its own judged value."""

    severity: int
    breaching: int
    value: float | None = None
    better: str | None = None  # "lower" or "higher": which way the value improves

    def worse_than(self, peak: Mark) -> bool:
        """Say whether this mark passes `peak`: a higher severity, more scopes, or a worse value."""
        if (self.severity, self.breaching) != (peak.severity, peak.breaching):
            return (self.severity, self.breaching) > (peak.severity, peak.breaching)
        if self.value is None or peak.value is None or self.better is None:
            return False
        step = abs(peak.value) * VALUE_STEP
        if self.better == "lower":
            return self.value > peak.value + step
        return self.value < peak.value - step

    def as_list(self) -> list[Any]:
        return [self.severity, self.breaching, self.value, self.better]

    @classmethod
    def from_list(cls, raw: list[Any]) -> Mark:
        return cls(int(raw[0]), int(raw[1]), raw[2], raw[3])


def mark_of(g: Mapping[str, Any]) -> Mark:
    """Return a group's mark."""
    breaching = sum(m["severity"] != "info" for m in g["members"])
    breaching += any(a["severity"] != "info" for a in g["own"])
    value, better = None, None
    for a in g["own"]:
        if a["type"] == "threshold":
            value, better = a.get("value"), a.get("better")
    return Mark(SEVERITY_SCORE[g["severity"]], breaching, value, better)


def advance(previous: Mapping[str, Any] | None, mark: Mark, now_ms: int) -> dict[str, Any]:
    """Return a group's memory after seeing `mark` at `now_ms`."""
    if previous is None:
        return {"since": now_ms, "peak": mark.as_list(), "worsened_at": None}
    peak = Mark.from_list(previous["peak"])
    if mark.worse_than(peak):
        return {"since": previous["since"], "peak": mark.as_list(), "worsened_at": now_ms}
    return dict(previous)


def status_of(memory: Mapping[str, Any], now_ms: int) -> str:
    """Return `worsening`, `new` or `ongoing`."""
    worsened = memory.get("worsened_at")
    if worsened is not None and now_ms - worsened < WORSENING_FOR_MS:
        return "worsening"
    return "new" if now_ms - memory["since"] < NEW_FOR_MS else "ongoing"


def needs_attention(g: Mapping[str, Any]) -> bool:
    """Say whether a group needs a person: red or amber, and not acknowledged."""
    return g["severity"] != "info" and g.get("ack") is None


def order(g: Mapping[str, Any]) -> tuple[Any, ...]:
    """Sort key: what needs a person first, then by severity, status and age (oldest first)."""
    return (
        not needs_attention(g),
        SEVERITY_ORDER[g["severity"]],
        STATUS_ORDER.get(g.get("status", "ongoing"), 2),
        g.get("since_ms", 0),
        g["id"],
    )


def summary(groups: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Count groups by severity and type, and those that need a person."""
    out: dict[str, Any] = {"total": len(groups)}
    out |= {s: sum(g["severity"] == s for g in groups) for s in SEVERITY_ORDER}
    out["needs_attention"] = sum(needs_attention(g) for g in groups)
    out["acknowledged"] = sum(g.get("ack") is not None for g in groups)
    out["by_type"] = {t: sum(t in g["types"] for g in groups) for t in ("threshold", "spc", "feed")}
    return out
