"""The token service's rules, on an in-memory store (the Redis store has its own integration test)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from hub.domain.errors import Forbidden, NotFound, Unauthenticated, ValidationFailed
from hub.domain.orgs import ReferenceData
from hub.ports import StoredToken
from hub.services.tokens import Principal, TokenService, hash_token


class MemoryTokenStore:
    """A TokenStore in a dict, keyed by hash like the real one."""

    def __init__(self) -> None:
        self.by_hash: dict[str, StoredToken] = {}

    async def put(self, token_hash: str, token: StoredToken) -> None:
        self.by_hash[token_hash] = token

    async def get(self, token_hash: str) -> StoredToken | None:
        return self.by_hash.get(token_hash)

    async def revoke(self, token_id: str) -> bool:
        for digest, token in list(self.by_hash.items()):
            if token.id == token_id:
                del self.by_hash[digest]
                return True
        return False


def service(ref: ReferenceData, store: MemoryTokenStore | None = None) -> TokenService:
    return TokenService(
        store or MemoryTokenStore(), "the-admin-secret", ref, lambda: datetime.now(UTC)
    )


def test_a_token_hash_is_the_sha256_hex_of_the_secret() -> None:
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()


async def test_the_store_never_sees_the_secret(ref: ReferenceData) -> None:
    store = MemoryTokenStore()
    token, secret = await service(ref, store).create("RX9", None, "submitter")
    assert secret.startswith("uec_") and len(secret) > 40
    assert list(store.by_hash) == [hash_token(secret)]
    assert secret not in repr(store.by_hash)
    assert token.feeds is None


async def test_authenticate_names_the_admin_an_organisation_or_refuses(ref: ReferenceData) -> None:
    svc = service(ref)
    token, secret = await svc.create("RYA", ["ambulance-handover"], "submitter")
    assert await svc.authenticate("Bearer the-admin-secret") == Principal(
        "admin", None, None, "admin", "Hub administrator"
    )
    assert await svc.authenticate(f"bearer   {secret} ") == Principal(
        token.id, "RYA", ("ambulance-handover",), "submitter"
    )
    for header in (None, "", "Basic abc", f"Token {secret}", "Bearer nope", "Bearer "):
        with pytest.raises(Unauthenticated):
            await svc.authenticate(header)


async def test_a_revoked_token_is_unknown_and_revoking_twice_is_not_found(
    ref: ReferenceData,
) -> None:
    svc = service(ref)
    token, secret = await svc.create("RX9", None, "viewer")
    await svc.revoke(token.id)
    with pytest.raises(Unauthenticated):
        await svc.authenticate(f"Bearer {secret}")
    with pytest.raises(NotFound):
        await svc.revoke(token.id)


@pytest.mark.parametrize(
    ("org", "feeds", "role", "field"),
    [
        ("NOPE", None, "submitter", "org"),
        ("RX9", None, "owner", "role"),
        ("RX9", ["nope"], "submitter", "feeds"),
        ("RX9", [], "submitter", "feeds"),
        ("RX9", ["ed-attendance"], "submitter", "feeds"),
        ("R1H", ["ambulance-handover", "ed-attendance"], "submitter", "feeds"),
    ],
)
async def test_a_bad_token_request_names_the_field(
    ref: ReferenceData, org: str, feeds: list[str] | None, role: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await service(ref).create(org, feeds, role)
    assert [e.field for e in caught.value.errors] == [field]


async def test_a_repeated_feed_is_stored_once(ref: ReferenceData) -> None:
    token, _ = await service(ref).create("RX7", ["nhs111-interval", "nhs111-interval"], "submitter")
    assert token.feeds == ("nhs111-interval",)


def test_only_a_submitter_of_its_feeds_may_submit() -> None:
    submitter = Principal("t1", "RX9", None, "submitter")
    limited = Principal("t2", "RX9", ("ambulance-incident",), "submitter")
    assert TokenService.require_submitter(submitter, "ambulance-handover") == "RX9"
    assert TokenService.require_submitter(limited, "ambulance-incident") == "RX9"
    refused = [
        (limited, "ambulance-handover"),
        (Principal("t3", "RX9", None, "viewer"), "ambulance-handover"),
        (Principal("admin", None, None, "admin"), "ambulance-handover"),
    ]
    for principal, feed in refused:
        with pytest.raises(Forbidden):
            TokenService.require_submitter(principal, feed)


def test_admin_and_viewer_checks_follow_the_role() -> None:
    admin = Principal("admin", None, None, "admin")
    viewer = Principal("t", "RX9", None, "viewer")
    submitter = Principal("s", "RX9", None, "submitter")
    TokenService.require_admin(admin)
    TokenService.require_viewer(viewer)
    TokenService.require_viewer(admin)
    for principal in (viewer, submitter):
        with pytest.raises(Forbidden):
            TokenService.require_admin(principal)
    with pytest.raises(Forbidden):
        TokenService.require_viewer(submitter)


async def test_a_viewer_token_carries_a_display_name_and_job_role(ref: ReferenceData) -> None:
    svc = service(ref)
    token, secret = await svc.create("RX9", None, "viewer", " Jo Bloggs ", "Regional on-call")
    assert (token.name, token.job_role) == ("Jo Bloggs", "Regional on-call")
    who = await svc.authenticate(f"Bearer {secret}")
    assert TokenService.require_named_viewer(who) == "Jo Bloggs"
    assert who.job_role == "Regional on-call"


async def test_only_a_named_viewer_or_the_admin_may_acknowledge(ref: ReferenceData) -> None:
    svc = service(ref)
    _, anonymous = await svc.create("RX9", None, "viewer")
    with pytest.raises(Forbidden, match="no display name"):
        TokenService.require_named_viewer(await svc.authenticate(f"Bearer {anonymous}"))
    _, submitter = await svc.create("RX9", None, "submitter", "Sam")
    with pytest.raises(Forbidden, match="viewer token"):
        TokenService.require_named_viewer(await svc.authenticate(f"Bearer {submitter}"))
    admin = await svc.authenticate("Bearer the-admin-secret")
    assert TokenService.require_named_viewer(admin) == "Hub administrator"


@pytest.mark.parametrize("name", ["", "   ", "x" * 81, "line\nbreak"])
async def test_a_bad_display_name_is_refused(ref: ReferenceData, name: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await service(ref).create("RX9", None, "viewer", name)
    assert [e.field for e in caught.value.errors] == ["name"]
