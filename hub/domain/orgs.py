"""Reference data: regions, organisations with their roles, and hospital sites (SPEC §1).

An organisation can hold more than one role: North West Ambulance Service
(RX7) is an ambulance service and an NHS 111 provider; the Isle of Wight NHS
Trust (R1F) runs ambulance, acute and 111 services under one code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from hub.domain.errors import ConfigError

ROLES = ("acute", "ambulance", "nhs111")


@dataclass(frozen=True, slots=True)
class Region:
    """An NHS England region, e.g. Y56 London."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Organisation:
    """An NHS organisation: a code, a name, a region and the roles it reports under."""

    code: str
    name: str
    region: str
    roles: tuple[str, ...]
    short_name: str = ""

    @property
    def kind(self) -> str:
        """The primary role, the first one listed."""
        return self.roles[0]


@dataclass(frozen=True, slots=True)
class Site:
    """A hospital site, owned by one acute trust (e.g. RWEAA, Leicester Royal Infirmary).

    `majors_resus_spaces` is the ED's majors and resus capacity, when the reference
    data gives it: the denominator of computed OPEL's majors/resus occupancy.
    """

    code: str
    name: str
    trust: str
    majors_resus_spaces: int | None = None


@dataclass(frozen=True)
class ReferenceData:
    """All organisations the hub knows; an unknown code is a validation error."""

    regions: dict[str, Region]
    organisations: dict[str, Organisation]
    sites: dict[str, Site]
    _sites_by_trust: dict[str, tuple[Site, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._check()
        by_trust: dict[str, list[Site]] = {}
        for site in self.sites.values():
            by_trust.setdefault(site.trust, []).append(site)
        object.__setattr__(self, "_sites_by_trust", {k: tuple(v) for k, v in by_trust.items()})

    @classmethod
    def build(
        cls, regions: Iterable[Region], orgs: Iterable[Organisation], sites: Iterable[Site]
    ) -> ReferenceData:
        """Index the three lists by code, refusing duplicates."""
        return cls(_index(regions), _index(orgs), _index(sites))

    def _check(self) -> None:
        for org in self.organisations.values():
            if org.region not in self.regions:
                raise ConfigError(f"organisation {org.code} names unknown region {org.region}")
            unknown = set(org.roles) - set(ROLES)
            if not org.roles or unknown:
                raise ConfigError(f"organisation {org.code} has bad roles {org.roles}")
        for site in self.sites.values():
            trust = self.organisations.get(site.trust)
            if trust is None or "acute" not in trust.roles:
                raise ConfigError(f"site {site.code} names {site.trust}, not an acute trust")
            spaces = site.majors_resus_spaces
            if spaces is not None and (
                isinstance(spaces, bool) or not isinstance(spaces, int) or spaces < 1
            ):
                raise ConfigError(
                    f"site {site.code}: majors_resus_spaces must be a whole number of spaces "
                    f"(at least 1), not {spaces!r}"
                )
            # No prefix rule: newer ODS site codes (e.g. E0A3H) do not start with the trust's.

    def with_role(self, role: str) -> list[Organisation]:
        """Return the organisations holding `role`, in code order."""
        return sorted(
            (o for o in self.organisations.values() if role in o.roles), key=lambda o: o.code
        )

    def sites_of(self, trust: str) -> tuple[Site, ...]:
        """Return the sites of an acute trust."""
        return self._sites_by_trust.get(trust, ())

    def region_of_org(self, code: str) -> str:
        return self.organisations[code].region

    def region_of_site(self, code: str) -> str:
        return self.organisations[self.sites[code].trust].region


_Coded = TypeVar("_Coded", Region, Organisation, Site)


def _index(items: Iterable[_Coded]) -> dict[str, _Coded]:
    out: dict[str, _Coded] = {}
    for item in items:
        if item.code in out:
            raise ConfigError(f"code {item.code} is listed twice")
        out[item.code] = item
    return out
