"""Credits (kredi): a prepaid balance kept as an append-only ledger.

Reserve at enqueue, keep at submit, give back at once when a message cannot
reach the phone (blocked, refused, undelivered, expired, rejected) or is
cancelled. The balance is the sum of the ledger; a reservation that would take
it below zero is refused atomically, so concurrent sends never overdraw.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

from isobil.errors import InsufficientCredits, InvalidValue
from isobil.storage import CreditEntry, CreditKind, OutboundMessage, Storage

__all__ = ["CreditAccount"]

log = logging.getLogger("isobil")

_ALERT_KEY = "credits.low_alert_sent"
_CANCEL_NOTE = "campaign cancelled"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CreditAccount:
    """The sender's credits: top up, see the balance, and let sends reserve and refund.

    With ``prepaid=False`` (the default) nothing is counted: sends are never
    refused for credits and the ledger stays empty. ``low_threshold`` and
    ``on_low`` raise one alert each time the balance falls below the threshold
    (re-armed by a top-up that lifts it back), never one per send.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        prepaid: bool = False,
        low_threshold: int | None = None,
        on_low: Callable[[int], None] | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.storage = storage
        self.prepaid = prepaid
        self.low_threshold = low_threshold
        self.on_low = on_low
        self.clock = clock

    def balance(self) -> int:
        """The credits left (reservations already taken off)."""
        return self.storage.credit_balance()

    def entries(self, *, campaign_id: str | None = None) -> Iterator[CreditEntry]:
        """The ledger, oldest first (of one campaign)."""
        return self.storage.iter_credits(campaign_id=campaign_id)

    def top_up(self, amount: int, *, note: str | None = None) -> int:
        """Add ``amount`` credits; return the new balance."""
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise InvalidValue(
                f"a top-up must be a positive whole number of credits, got {amount!r}"
            )
        self.storage.append_credit(CreditEntry(CreditKind.TOP_UP, amount, self.clock(), note=note))
        balance = self.balance()
        if self.low_threshold is not None and balance >= self.low_threshold:
            self.storage.set_state(_ALERT_KEY, None)
        return balance

    def reserve(self, campaign_id: str, amount: int) -> None:
        """Take ``amount`` credits for a campaign, or raise InsufficientCredits (prepaid only)."""
        if not self.prepaid or amount <= 0:
            return
        entry = CreditEntry(CreditKind.RESERVE, -amount, self.clock(), campaign_id=campaign_id)
        if not self.storage.append_credit(entry, keep_balance_at_least=0):
            balance = self.balance()
            raise InsufficientCredits(
                f"this send needs {amount} credit(s) but the balance is {balance}: "
                "top up (client.credits.top_up) or send to fewer recipients",
                needed=amount,
                balance=balance,
            )
        self._check_low()

    def refund(self, message: OutboundMessage, *, reason: str) -> None:
        """Give back a submitted message's credits: the phone never got it."""
        self._give_back_many(CreditKind.REFUND, [message], reason)

    def release_many(self, messages: Sequence[OutboundMessage], *, reason: str) -> None:
        """Give back many messages' reserved credits in one ledger append."""
        self._give_back_many(CreditKind.RELEASE, messages, reason)

    def refund_many(self, messages: Sequence[OutboundMessage], *, reason: str) -> None:
        """Refund many submitted messages in one ledger append (a burst of reports)."""
        self._give_back_many(CreditKind.REFUND, messages, reason)

    def _give_back_many(
        self, kind: CreditKind, messages: Sequence[OutboundMessage], note: str
    ) -> None:
        if not self.prepaid or not messages:
            return
        at = self.clock()
        self.storage.append_credits(
            [
                CreditEntry(
                    kind, m.parts, at, campaign_id=m.campaign_id, message_id=m.id, note=note
                )
                for m in messages
                if m.parts > 0
            ]
        )

    def settle_campaign(self, campaign_id: str) -> int:
        """Release the credits of a cancelled campaign's unsent messages; return how many.

        Idempotent and atomic: what was released for the cancellation before is
        not released again, even by concurrent calls.
        """
        if not self.prepaid:
            return 0
        return self.storage.append_cancelled_release(
            campaign_id, at=self.clock(), note=_CANCEL_NOTE
        )

    def _check_low(self) -> None:
        if self.low_threshold is None:
            return
        balance = self.balance()
        if balance >= self.low_threshold or self.storage.get_state(_ALERT_KEY) is not None:
            return
        # Flag first: an alert that fails to send is not retried on every send.
        self.storage.set_state(_ALERT_KEY, self.clock().isoformat())
        log.warning("isobil: credit balance %d is below %d", balance, self.low_threshold)
        if self.on_low is not None:
            self.on_low(balance)
