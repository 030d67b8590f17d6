"""Scheduled and recurring sends (ileri tarihli gönderim), each occurrence run exactly once.

An occurrence is run by whichever worker claims it first
(``Storage.claim_occurrence`` is atomic), so several workers never run it twice.

Occurrences missed while no worker ran: when a worker wakes, the most recent
missed occurrence still runs if it is no older than the schedule's
``catch_up`` window (default one hour); older ones are skipped and logged, never
sent in a burst days late.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from isobil._time import aware
from isobil.campaigns._recurrence import ISTANBUL_TZ, next_occurrence
from isobil.errors import InvalidValue, IsobilError
from isobil.model import Message
from isobil.storage import Schedule, ScheduleStatus, Storage

__all__ = ["FiredOccurrence", "Schedules"]

log = logging.getLogger("isobil")

#: Sends a message to an audience; the client's ``send``.
Sender = Callable[..., Any]


@attrs.frozen
class FiredOccurrence:
    """One occurrence a worker dealt with: sent (with its campaign), skipped, or failed."""

    schedule_id: str
    occurrence: datetime
    outcome: str  # "sent", "missed" or "failed"
    campaign_id: str | None = None
    error: str | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Schedules:
    """Create, list and cancel scheduled sends; fire the due ones."""

    def __init__(
        self,
        storage: Storage,
        send: Sender,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.storage = storage
        self._send = send
        self.clock = clock

    def add(
        self,
        message: Message,
        *,
        to: Iterable[str] = (),
        group: str | None = None,
        start: datetime,
        rule: str | None = None,
        tz: str = ISTANBUL_TZ,
        acknowledge: Iterable[str] = (),
        catch_up: timedelta = timedelta(hours=1),
    ) -> Schedule:
        """Schedule ``message`` for ``start`` — once, or repeating by ``rule`` (RFC 5545).

        The audience is ``to`` (numbers) or a contact ``group`` resolved when each
        occurrence runs. ``rule`` is evaluated in ``tz`` wall-clock time; see
        :func:`isobil.campaigns.weekly`, :func:`monthly` and :func:`yearly`.
        """
        aware(start, "start")
        numbers = list(to)
        if bool(numbers) == (group is not None):
            raise InvalidValue("give either to= (numbers) or group=, not both and not neither")
        first = start
        if rule is not None:
            found = next_occurrence(rule, start, after=start - timedelta(seconds=1), tz=tz)
            if found is None:
                raise InvalidValue(f"the rule {rule!r} never fires after {start.isoformat()}")
            first = found
        schedule = Schedule(
            id=uuid.uuid4().hex,
            rule=rule or "",
            timezone=tz,
            next_at=first,
            payload={
                "text": message.text,
                "category": message.category.value,
                "brand": message.brand or "",
                "to": json.dumps(numbers),
                "group": group or "",
                "acknowledge": ",".join(sorted(acknowledge)),
                "start": start.isoformat(),
                "catch_up": str(int(catch_up.total_seconds())),
            },
            created_at=self.clock(),
        )
        self.storage.add_schedule(schedule)
        return schedule

    def all(self, *, status: ScheduleStatus | None = None) -> list[Schedule]:
        """Schedules, next occurrence first."""
        return self.storage.list_schedules(status=status)

    def cancel(self, schedule_id: str) -> None:
        """Stop a schedule; occurrences already sent stay sent."""
        self.storage.set_schedule_status(schedule_id, ScheduleStatus.CANCELLED)

    def fire_due(self, now: datetime | None = None) -> list[FiredOccurrence]:
        """Run every due occurrence this worker wins; return what it did."""
        # In UTC: within the schedule's own zone Python compares wall-clock times, and
        # an occurrence's lateness is time elapsed.
        moment = aware(now or self.clock(), "now").astimezone(UTC)
        fired: list[FiredOccurrence] = []
        for schedule in self.storage.due_schedules(moment):
            fired += self._fire(schedule, moment)
        return fired

    def _fire(self, schedule: Schedule, now: datetime) -> list[FiredOccurrence]:
        occurrence = schedule.next_at
        if occurrence is None:
            return []
        payload = schedule.payload
        start = datetime.fromisoformat(payload["start"])
        following = self._following(schedule, start, occurrence)
        # Skip forward over occurrences missed during downtime: only the latest runs.
        missed: list[datetime] = []
        while following is not None and following <= now:
            missed.append(occurrence)
            occurrence, following = following, self._following(schedule, start, following)
        if not self.storage.claim_occurrence(schedule.id, occurrence, following):
            return []  # another worker won this occurrence
        results = [FiredOccurrence(schedule.id, m, "missed") for m in missed]
        for skipped in missed:
            log.warning("isobil: schedule %s missed %s (no worker ran)", schedule.id, skipped)
        if now - occurrence > timedelta(seconds=int(payload["catch_up"])):
            log.warning("isobil: schedule %s skipped %s: too late to send", schedule.id, occurrence)
            return [*results, FiredOccurrence(schedule.id, occurrence, "missed")]
        message = Message(
            payload["text"], category=payload["category"], brand=payload["brand"] or None
        )
        audience: Any = json.loads(payload["to"]) or self._group(payload["group"])
        acknowledge = [a for a in payload["acknowledge"].split(",") if a]
        try:
            result = self._send(
                message, audience, acknowledge=acknowledge, name=f"schedule {schedule.id}"
            )
        except IsobilError as exc:
            log.error(
                "isobil: schedule %s occurrence %s not sent: %s", schedule.id, occurrence, exc
            )
            return [*results, FiredOccurrence(schedule.id, occurrence, "failed", error=str(exc))]
        return [
            *results,
            FiredOccurrence(schedule.id, occurrence, "sent", campaign_id=result.campaign_id),
        ]

    def _following(self, schedule: Schedule, start: datetime, after: datetime) -> datetime | None:
        if not schedule.rule:
            return None
        return next_occurrence(schedule.rule, start, after=after, tz=schedule.timezone)

    def _group(self, name: str) -> list[str]:
        return [c.number for c in self.storage.iter_contacts(group=name)]
