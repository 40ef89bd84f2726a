"""Acknowledge alerts: who saw one, what they said, until it clears or gets worse (issue 15).

An acknowledgement names a person (the display name on their viewer token)
and holds an optional note. It is shown on every screen at once (a live
notice wakes every alert stream) and ends by itself when its alert group
clears or worsens after it was given; every acknowledgement and ending goes
to an audit trail. The memories that say when a group began and whether it
is worsening are kept here too, beside the acknowledgements they end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hub.domain import alert_groups as groups
from hub.domain.errors import FieldError, ValidationFailed
from hub.domain.timestamps import format_utc_ms
from hub.ports import AlertLog, LivePublisher
from hub.services.tokens import Principal

# Pseudo-scopes on the live channel: metrics streams ignore them, alert streams wake on them.
ALERTS_NOTICE = "@alerts"
NOTES_NOTICE = "@notes"
NOTE_MAX = 500
TRAIL_MAX = 200


def check_note(note: Any, field: str = "note", required: bool = False) -> str | None:
    """Return a note's text, stripped, or raise ValidationFailed saying what is wrong."""
    if note is None and not required:
        return None
    if not isinstance(note, str) or not note.strip() or len(note) > NOTE_MAX:
        message = f"{field} must be text of 1 to {NOTE_MAX} characters"
        raise ValidationFailed(message, (FieldError(field, message),))
    return note.strip()


class AckService:
    def __init__(self, log: AlertLog, live: LivePublisher, clock_ms: Callable[[], int]) -> None:
        self._log = log
        self._live = live
        self._clock_ms = clock_ms

    async def in_force(self) -> dict[str, dict[str, Any]]:
        """Return the acknowledgement in force of each alert group that has one."""
        return await self._log.acks()

    async def acknowledge(
        self, group: Mapping[str, Any], who: Principal, name: str, note: str | None
    ) -> dict[str, Any]:
        """Acknowledge an active alert group for `who`, and tell every screen."""
        now = self._clock_ms()
        ack = {
            "alert_id": group["id"],
            "by": name,
            "job_role": who.job_role,
            "org": who.org,
            "token_id": who.token_id,
            "note": note,
            "at": format_utc_ms(now),
            "at_ms": now,
            "severity": group["severity"],
            "status": group.get("status"),
            "breaching": groups.mark_of(group).breaching,
        }
        await self._log.acknowledge(str(group["id"]), ack)
        await self._live.publish([ALERTS_NOTICE])
        return ack

    async def history(self, alert_id: str | None, limit: int = 50) -> list[dict[str, Any]]:
        """Return the audit trail, newest first, of one alert group or of all."""
        return await self._log.trail(alert_id, max(1, min(limit, TRAIL_MAX)))

    async def remember(
        self, by_id: Mapping[str, Mapping[str, Any]], now: int
    ) -> dict[str, dict[str, Any]]:
        """Advance every active group's memory, forget cleared ones, and end stale acks."""
        before = await self._log.memories()
        current = {}
        changed = {}
        for group_id, g in by_id.items():
            memory = groups.advance(before.get(group_id), groups.mark_of(g), now)
            current[group_id] = memory
            if memory != before.get(group_id):
                changed[group_id] = memory
        cleared = [group_id for group_id in before if group_id not in by_id]
        await self._log.save_memories(changed, cleared)
        await self._end_stale(current, now)
        return current

    async def _end_stale(self, memories: Mapping[str, Mapping[str, Any]], now: int) -> None:
        """End acknowledgements whose group cleared, or worsened after they were given."""
        ended = False
        for group_id, ack in (await self._log.acks()).items():
            memory = memories.get(group_id)
            worsened = None if memory is None else memory.get("worsened_at")
            if memory is None:
                reason = "the alert cleared"
            elif worsened is not None and worsened > ack["at_ms"]:
                reason = "the alert got worse"
            else:
                continue
            event = {
                "action": "expired",
                "alert_id": group_id,
                "reason": reason,
                "by": ack.get("by"),
                "note": ack.get("note"),
                "at": format_utc_ms(now),
                "at_ms": now,
            }
            ended |= await self._log.expire(group_id, event)
        if ended:
            await self._live.publish([ALERTS_NOTICE])
