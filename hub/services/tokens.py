"""Create, revoke and check API tokens (SPEC §5). Tokens are stored only as SHA-256 hashes.

Every request looks its token up in the store, so a revocation takes effect
at once in every API process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.domain.errors import FieldError, Forbidden, NotFound, Unauthenticated, ValidationFailed
from hub.domain.feeds import FEEDS
from hub.domain.orgs import ReferenceData
from hub.ports import StoredToken, TokenStore

ROLES = ("submitter", "viewer")
ROLE_NAMES = {
    "acute": "acute trusts",
    "ambulance": "ambulance services",
    "nhs111": "NHS 111 providers",
}
TOKEN_PREFIX = "uec_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an organisation's token, or the admin."""

    token_id: str
    org: str | None
    feeds: tuple[str, ...] | None
    role: str  # "admin", "submitter" or "viewer"
    name: str | None = None  # display name, for acknowledgements and notes
    job_role: str | None = None


ADMIN_NAME = "Hub administrator"
NAME_MAX = 80


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenService:
    def __init__(
        self, store: TokenStore, admin_token: str, ref: ReferenceData, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._admin_hash = hash_token(admin_token) if admin_token else None
        self._ref = ref
        self._clock = clock

    async def create(
        self,
        org: str,
        feeds: Sequence[str] | None,
        role: str,
        name: str | None = None,
        job_role: str | None = None,
    ) -> tuple[StoredToken, str]:
        """Issue a token; return what is stored and the secret, which is shown only now."""
        errors = _person_errors(name, job_role)
        if org not in self._ref.organisations:
            errors.append(FieldError("org", f"{org!r} is not a known organisation code"))
        if role not in ROLES:
            errors.append(
                FieldError("role", f"role must be one of {', '.join(ROLES)}, not {role!r}")
            )
        errors.extend(self._check_feeds(org, feeds))
        if errors:
            raise ValidationFailed("the token request is invalid", tuple(errors))
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = StoredToken(
            id=secrets.token_hex(8),
            org=org,
            feeds=None if feeds is None else tuple(dict.fromkeys(feeds)),
            role=role,
            created_at=self._clock().isoformat(),
            name=None if name is None else name.strip(),
            job_role=None if job_role is None else job_role.strip() or None,
        )
        await self._store.put(hash_token(secret), token)
        return token, secret

    def _check_feeds(self, org: str, feeds: Sequence[str] | None) -> list[FieldError]:
        if feeds is None:
            return []
        if not feeds:
            return [
                FieldError("feeds", "feeds must name at least one feed, or be left out for all")
            ]
        unknown = [f for f in feeds if f not in FEEDS]
        if unknown:
            return [FieldError("feeds", f"unknown feeds {unknown}; feeds are {', '.join(FEEDS)}")]
        known = self._ref.organisations.get(org)
        foreign = [f for f in feeds if known is not None and FEEDS[f].org_role not in known.roles]
        if foreign:
            return [
                FieldError(
                    "feeds",
                    f"{org} cannot submit {', '.join(foreign)}: those feeds come from "
                    f"{' or '.join(sorted({ROLE_NAMES[FEEDS[f].org_role] for f in foreign}))}",
                )
            ]
        return []

    async def revoke(self, token_id: str) -> None:
        if not await self._store.revoke(token_id):
            raise NotFound(f"no token with id {token_id!r}")

    async def authenticate(self, authorization: str | None) -> Principal:
        """Return the caller named by an `Authorization: Bearer …` header."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthenticated("send your token as 'Authorization: Bearer <token>'")
        digest = hash_token(authorization[7:].strip())
        if self._admin_hash is not None and hmac.compare_digest(digest, self._admin_hash):
            return Principal("admin", None, None, "admin", ADMIN_NAME)
        token = await self._store.get(digest)
        if token is None:
            raise Unauthenticated("the token is unknown or has been revoked")
        return Principal(token.id, token.org, token.feeds, token.role, token.name, token.job_role)

    @staticmethod
    def require_submitter(principal: Principal, feed: str) -> str:
        """Return the organisation a principal submits for, if it may submit `feed`."""
        if principal.role == "admin" or principal.org is None:
            raise Forbidden("the admin token cannot submit records; use an organisation's token")
        if principal.role != "submitter":
            raise Forbidden(f"a {principal.role} token cannot submit records")
        if principal.feeds is not None and feed not in principal.feeds:
            raise Forbidden(f"this token may submit only {', '.join(principal.feeds)}, not {feed}")
        return principal.org

    @staticmethod
    def require_admin(principal: Principal) -> None:
        if principal.role != "admin":
            raise Forbidden("this needs the admin token")

    @staticmethod
    def require_viewer(principal: Principal) -> None:
        if principal.role not in {"viewer", "admin"}:
            raise Forbidden("this needs a viewer token")

    @classmethod
    def require_named_viewer(cls, principal: Principal) -> str:
        """Return the display name of a viewer who may acknowledge alerts and write notes."""
        cls.require_viewer(principal)
        if not principal.name:
            raise Forbidden(
                "this token has no display name: ask an admin for a viewer token with a name"
            )
        return principal.name


def _person_errors(name: str | None, job_role: str | None) -> list[FieldError]:
    """Check a token's display name and job role: short, printable text."""
    errors = []
    for field_name, value in (("name", name), ("job_role", job_role)):
        if value is None:
            continue
        if not value.strip() or len(value) > NAME_MAX or not value.isprintable():
            errors.append(
                FieldError(field_name, f"{field_name} must be 1 to {NAME_MAX} printable characters")
            )
    return errors
