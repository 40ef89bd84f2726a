"""Errors raised by the hub, with one root so entrypoints can map them in one table.

HubError
├── ConfigError               reference data or settings are unusable
├── ValidationFailed          a body or record broke the contract (carries field errors)
│   └── BodyUnparseable       the body itself could not be read (400, with line/position)
├── AuthError
│   ├── Unauthenticated       no token, or an unknown or revoked one (401)
│   └── Forbidden             a known token that may not do this (403)
├── NotFound                  unknown feed, scope or token (404)
├── PayloadTooLarge           body over the limit (413)
├── UnsupportedMediaType      content type we cannot read (415)
├── Unavailable               a backing service is down; try again later (503)
│   ├── BrokerUnavailable     Kafka
│   └── StateUnavailable      Redis
├── RecordRefused             Kafka refused a message itself (too large…); retrying will not help
├── LimitReached              a cap that protects the service; try again later
│   ├── CallerLimitReached    this caller holds too much already (429)
│   └── ProcessLimitReached   this process holds too much already (503)
└── StateConflict             another writer changed the same state first; retry
"""

from __future__ import annotations

from dataclasses import dataclass


class HubError(Exception):
    """Root of every error the hub raises on purpose."""


class ConfigError(HubError):
    """Reference data or settings are missing or inconsistent."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of one record."""

    field: str
    message: str


class ValidationFailed(HubError):
    """Input broke the contract; `errors` says which fields and why."""

    def __init__(self, message: str, errors: tuple[FieldError, ...] = ()) -> None:
        super().__init__(message)
        self.errors = errors


class BodyUnparseable(ValidationFailed):
    """The request body could not be parsed at all."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class AuthError(HubError):
    """The caller may not do this."""


class Unauthenticated(AuthError):
    """No token, or an unknown or revoked one."""


class Forbidden(AuthError):
    """A valid token that is not allowed this action."""


class NotFound(HubError):
    """The named thing does not exist."""


class PayloadTooLarge(HubError):
    """The body is over the configured limit."""


class UnsupportedMediaType(HubError):
    """The body's content type is not one we read."""


class Unavailable(HubError):
    """A backing service is unreachable; the caller should retry later."""

    retry_after_seconds = 5


class BrokerUnavailable(Unavailable):
    """Kafka did not take the records in time."""


class StateUnavailable(Unavailable):
    """Redis did not answer."""


class RecordRefused(HubError):
    """Kafka refused a message itself (too large, say): that message's problem, not an outage."""


class LimitReached(HubError):
    """A cap that protects the service was reached; `retry_after_seconds` says when to retry."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class CallerLimitReached(LimitReached):
    """The caller (its token) already holds as much as one caller may."""


class ProcessLimitReached(LimitReached):
    """This process already holds as much as it takes; another may have room."""


class StateConflict(HubError):
    """Another writer changed state this transaction read; the transaction did nothing."""
