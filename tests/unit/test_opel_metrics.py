"""`hub_opel_computed_level` exports the latest computed levels, and nothing once they are old."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from hub.adapters.opel_metrics import OpelCollector
from hub.domain.opel import OpelLevels


def test_each_trust_with_a_computed_level_is_exported_with_its_region() -> None:
    levels = OpelLevels(1000.0, (("RWE", "Y60", 3), ("RK9", "Y58", 1)))
    registry = CollectorRegistry()
    registry.register(OpelCollector(lambda: levels, lambda: 1010.0, 60.0))
    get = registry.get_sample_value
    assert get("hub_opel_computed_level", {"org": "RWE", "region": "Y60"}) == 3
    assert get("hub_opel_computed_level", {"org": "RK9", "region": "Y58"}) == 1


def test_levels_older_than_the_limit_or_never_computed_are_not_exported() -> None:
    levels = OpelLevels(1000.0, (("RWE", "Y60", 3),))
    old, never = CollectorRegistry(), CollectorRegistry()
    old.register(OpelCollector(lambda: levels, lambda: 1100.0, 60.0))
    never.register(OpelCollector(lambda: None, lambda: 1100.0, 60.0))
    for registry in (old, never):
        assert (
            registry.get_sample_value("hub_opel_computed_level", {"org": "RWE", "region": "Y60"})
            is None
        )


def test_the_difference_from_the_declared_level_is_exported_where_both_exist() -> None:
    levels = OpelLevels(
        1000.0,
        (("RWE", "Y60", 4), ("RK9", "Y58", 1), ("RX1", "Y60", 2)),
        (("RWE", "Y60", 2), ("RK9", "Y58", 3), ("RTH", "Y59", 2)),  # RTH: no computed level
    )
    registry = CollectorRegistry()
    registry.register(OpelCollector(lambda: levels, lambda: 1010.0, 60.0))
    get = registry.get_sample_value
    assert get("hub_opel_level_difference", {"org": "RWE", "region": "Y60"}) == 2
    assert get("hub_opel_level_difference", {"org": "RK9", "region": "Y58"}) == -2
    assert get("hub_opel_level_difference", {"org": "RX1", "region": "Y60"}) is None
    assert get("hub_opel_level_difference", {"org": "RTH", "region": "Y59"}) is None
