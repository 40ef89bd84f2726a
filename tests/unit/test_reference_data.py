"""The real reference data in config/organisations.toml (SPEC §1, DOMAIN §8), read by the loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.adapters.reference_files import load_reference_data
from hub.domain.orgs import ReferenceData

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"

REGIONS = {
    "Y56": "London",
    "Y58": "South West",
    "Y59": "South East",
    "Y60": "Midlands",
    "Y61": "East of England",
    "Y62": "North West",
    "Y63": "North East and Yorkshire",
}

# DOMAIN §8.2
AMBULANCE_REGIONS = {
    "RX6": "Y63",
    "RX8": "Y63",
    "RX7": "Y62",
    "RX9": "Y60",
    "RYA": "Y60",
    "RYC": "Y61",
    "RRU": "Y56",
    "RYD": "Y59",
    "RYE": "Y59",
    "RYF": "Y58",
    "R1F": "Y59",
}

# The 47 named acute trusts of DOMAIN §8.4 with the region DOMAIN gives each.
NAMED_ACUTE_REGIONS = {
    **dict.fromkeys(["R1H", "RJ1", "RJZ", "RYJ", "RRV", "RAL", "RJ7", "RJ2", "RF4"], "Y56"),
    **dict.fromkeys(["RDU", "RTH", "RHM", "RHU", "RVV", "RWF", "RPA", "RYR"], "Y59"),
    **dict.fromkeys(["RA7", "RVJ", "RK9", "REF", "RH8", "RTE"], "Y58"),
    **dict.fromkeys(["RRK", "RX1", "RWE", "RTG", "RJE", "RKB", "RL4", "RWD"], "Y60"),
    **dict.fromkeys(["RGT", "RM1", "RAJ", "RDE", "RC9"], "Y61"),
    **dict.fromkeys(["R0A", "RXN", "RXR", "RMC", "RBL"], "Y62"),
    **dict.fromkeys(["RTD", "RR8", "RHQ", "RWA", "RTR", "RAE"], "Y63"),
}


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return load_reference_data(CONFIG_DIR)


def codes_with_role(ref: ReferenceData, role: str) -> set[str]:
    """Return the codes of the organisations holding `role`."""
    return {org.code for org in ref.with_role(role)}


def test_domain_lists_47_named_acute_trusts() -> None:
    assert len(NAMED_ACUTE_REGIONS) == 47


def test_there_are_the_seven_nhs_england_regions_with_their_names(ref: ReferenceData) -> None:
    assert {code: region.name for code, region in ref.regions.items()} == REGIONS


def test_the_eleven_ambulance_services_are_present_each_in_its_region(ref: ReferenceData) -> None:
    assert codes_with_role(ref, "ambulance") == set(AMBULANCE_REGIONS)
    assert {code: ref.region_of_org(code) for code in AMBULANCE_REGIONS} == AMBULANCE_REGIONS


def test_every_ambulance_service_has_a_short_name(ref: ReferenceData) -> None:
    assert all(org.short_name for org in ref.with_role("ambulance"))


def test_there_are_at_least_47_acute_trusts(ref: ReferenceData) -> None:
    assert len(ref.with_role("acute")) >= 47


@pytest.mark.parametrize(("code", "region"), sorted(NAMED_ACUTE_REGIONS.items()))
def test_each_named_acute_trust_is_present_in_its_domain_region(
    ref: ReferenceData, code: str, region: str
) -> None:
    assert "acute" in ref.organisations[code].roles
    assert ref.region_of_org(code) == region


def test_every_acute_trust_has_at_least_one_site(ref: ReferenceData) -> None:
    assert [org.code for org in ref.with_role("acute") if not ref.sites_of(org.code)] == []


def test_every_site_code_is_five_characters(ref: ReferenceData) -> None:
    assert [site.code for site in ref.sites.values() if len(site.code) != 5] == []


def test_site_codes_start_with_their_trust_code_except_newer_ods_codes(ref: ReferenceData) -> None:
    # Newer ODS site codes (e.g. E0A3H, Royal Sussex County Hospital) need not.
    odd = {s.code for s in ref.sites.values() if not s.code.startswith(s.trust)}
    assert odd == {"E0A3H"}


def test_every_site_belongs_to_an_acute_trust(ref: ReferenceData) -> None:
    assert all("acute" in ref.organisations[site.trust].roles for site in ref.sites.values())


@pytest.mark.parametrize("role", ["acute", "ambulance", "nhs111"])
def test_every_region_has_an_organisation_of_each_role(ref: ReferenceData, role: str) -> None:
    covered = {org.region for org in ref.with_role(role)}
    assert set(REGIONS) - covered == set()


def test_ambulance_services_that_run_nhs_111_hold_both_roles(ref: ReferenceData) -> None:
    assert ref.organisations["RX7"].roles == ("ambulance", "nhs111")
    assert ref.organisations["R1F"].roles == ("ambulance", "acute", "nhs111")


def test_every_organisation_and_site_has_a_name(ref: ReferenceData) -> None:
    unnamed = [org.code for org in ref.organisations.values() if not org.name.strip()]
    unnamed += [site.code for site in ref.sites.values() if not site.name.strip()]
    assert unnamed == []


@pytest.mark.parametrize(
    ("site", "trust", "name"),
    [
        ("RWEAA", "RWE", "Leicester Royal Infirmary"),
        ("RR801", "RR8", "Leeds General Infirmary"),
        ("RR813", "RR8", "St James's University Hospital"),
    ],
)
def test_well_known_sites_carry_their_ods_codes(
    ref: ReferenceData, site: str, trust: str, name: str
) -> None:
    assert (ref.sites[site].trust, ref.sites[site].name) == (trust, name)
