"""Scopes a metric is computed for: `site/{code}`, `org/{code}`, `region/{code}`, `national`."""

from __future__ import annotations

from dataclasses import dataclass

from hub.domain.errors import NotFound
from hub.domain.orgs import ReferenceData

NATIONAL = "national"
SCOPE_TYPES = ("national", "region", "org", "site")


def site_scope(code: str) -> str:
    return f"site/{code}"


def org_scope(code: str) -> str:
    return f"org/{code}"


def region_scope(code: str) -> str:
    return f"region/{code}"


@dataclass(frozen=True, slots=True)
class ScopeRef:
    """A scope, resolved against the reference data: its type, code and display name."""

    type: str
    code: str | None
    name: str

    @property
    def key(self) -> str:
        return NATIONAL if self.code is None else f"{self.type}/{self.code}"


def resolve(ref: ReferenceData, scope: str) -> ScopeRef:
    """Return the scope named by `scope` (e.g. `org/RX9`), or raise NotFound."""
    if scope == NATIONAL:
        return ScopeRef("national", None, "England")
    kind, _, code = scope.partition("/")
    if kind == "region" and code in ref.regions:
        return ScopeRef(kind, code, ref.regions[code].name)
    if kind == "org" and code in ref.organisations:
        return ScopeRef(kind, code, ref.organisations[code].name)
    if kind == "site" and code in ref.sites:
        return ScopeRef(kind, code, ref.sites[code].name)
    raise NotFound(f"unknown scope {scope!r}")


def members(ref: ReferenceData, scope: ScopeRef) -> list[ScopeRef]:
    """Return the scopes one level below `scope`: regions, organisations, or sites."""
    if scope.type == "national":
        return [
            ScopeRef("region", r.code, r.name)
            for r in sorted(ref.regions.values(), key=lambda r: r.code)
        ]
    if scope.type == "region":
        orgs = sorted(
            (o for o in ref.organisations.values() if o.region == scope.code), key=lambda o: o.code
        )
        return [ScopeRef("org", o.code, o.name) for o in orgs]
    if scope.type == "org" and scope.code is not None:
        return [ScopeRef("site", s.code, s.name) for s in ref.sites_of(scope.code)]
    return []


SITREP_ROLE = {"acute-sitrep": "acute", "ambulance-sitrep": "ambulance"}


def expected_submitters(ref: ReferenceData, sitrep_feed: str, scope: ScopeRef) -> int:
    """Return how many organisations in `scope` are expected to send a SitRep feed."""
    if scope.type == "org":
        return 1
    orgs = ref.with_role(SITREP_ROLE[sitrep_feed])
    if scope.type == "region":
        return sum(1 for o in orgs if o.region == scope.code)
    return len(orgs)
