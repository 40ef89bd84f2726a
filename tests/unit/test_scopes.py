"""Scopes: resolving `site/…`, `org/…`, `region/…` and `national`, and the members one level down."""

from __future__ import annotations

import pytest

from hub.domain.errors import NotFound
from hub.domain.orgs import Organisation, ReferenceData, Region, Site
from hub.domain.scopes import (
    NATIONAL,
    ScopeRef,
    members,
    org_scope,
    region_scope,
    resolve,
    site_scope,
)

# A small England: two regions, an ambulance service, two acute trusts (one with two
# sites, listed out of order) and an organisation that is ambulance, acute and 111 at once.
REF = ReferenceData.build(
    [Region("Y60", "Midlands"), Region("Y56", "London")],
    [
        Organisation("RX9", "East Midlands Ambulance Service", "Y60", ("ambulance",)),
        Organisation("RWE", "University Hospitals of Leicester", "Y60", ("acute",)),
        Organisation("RTG", "University Hospitals of Derby and Burton", "Y60", ("acute",)),
        Organisation("RRU", "London Ambulance Service", "Y56", ("ambulance",)),
        Organisation("R1F", "Isle of Wight NHS Trust", "Y56", ("ambulance", "acute", "nhs111")),
    ],
    [
        Site("RWEAK", "Glenfield Hospital", "RWE"),
        Site("RWEAA", "Leicester Royal Infirmary", "RWE"),
        Site("RTG02", "Royal Derby Hospital", "RTG"),
        Site("R1F01", "St Mary's Hospital", "R1F"),
    ],
)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("national", ScopeRef("national", None, "England")),
        ("region/Y60", ScopeRef("region", "Y60", "Midlands")),
        ("org/RX9", ScopeRef("org", "RX9", "East Midlands Ambulance Service")),
        ("org/RWE", ScopeRef("org", "RWE", "University Hospitals of Leicester")),
        ("site/RWEAA", ScopeRef("site", "RWEAA", "Leicester Royal Infirmary")),
    ],
)
def test_a_scope_resolves_to_its_type_code_and_name(scope: str, expected: ScopeRef) -> None:
    resolved = resolve(REF, scope)
    assert resolved == expected
    assert resolved.key == scope


@pytest.mark.parametrize(
    "scope",
    [
        "region/Y99",  # unknown code
        "org/ZZZ",
        "site/RWEXX",
        "site/RWE",  # an organisation's code is not a site's
        "org/RWEAA",  # nor a site's an organisation's
        "region/RX9",
        "trust/RWE",  # not a scope type
        "org/",
        "org",
        "national/Y60",
        "National",
        "",
    ],
)
def test_an_unknown_scope_is_not_found(scope: str) -> None:
    with pytest.raises(NotFound, match="unknown scope"):
        resolve(REF, scope)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("national", ["region/Y56", "region/Y60"]),  # in code order
        ("region/Y60", ["org/RTG", "org/RWE", "org/RX9"]),  # every organisation, any role
        ("region/Y56", ["org/R1F", "org/RRU"]),
        ("org/RWE", ["site/RWEAK", "site/RWEAA"]),
        ("org/R1F", ["site/R1F01"]),
        ("org/RX9", []),  # an ambulance service has no sites
        ("site/RWEAA", []),  # the bottom of the tree
    ],
)
def test_a_scope_has_the_scopes_one_level_below_it_as_members(
    scope: str, expected: list[str]
) -> None:
    found = members(REF, resolve(REF, scope))
    assert [m.key for m in found] == expected
    assert all(m == resolve(REF, m.key) for m in found)  # members carry their names


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (site_scope("RWEAA"), "site/RWEAA"),
        (org_scope("RX9"), "org/RX9"),
        (region_scope("Y60"), "region/Y60"),
        (NATIONAL, "national"),
    ],
)
def test_scope_names_are_type_slash_code_or_national(built: str, expected: str) -> None:
    assert built == expected


def test_every_region_organisation_and_site_of_the_real_reference_data_resolves(
    ref: ReferenceData,
) -> None:
    scopes = [region_scope(c) for c in ref.regions]
    scopes += [org_scope(c) for c in ref.organisations] + [site_scope(c) for c in ref.sites]
    assert [resolve(ref, s).key for s in scopes] == scopes
    national = members(ref, resolve(ref, NATIONAL))
    assert len(national) == 7
    in_regions = [o for r in national for o in members(ref, r)]
    assert sorted(o.code or "" for o in in_regions) == sorted(ref.organisations)
