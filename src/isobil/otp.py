"""One-time codes by SMS (OTP, doğrulama kodu): sent, verified once, hashed at rest.

``client.otp.send(number)`` sends an informational SMS with a fresh code and
``client.otp.verify(number, code)`` says whether it is the right one — once:

* Codes come from :mod:`secrets`. Storage keeps only the HMAC-SHA256 of the
  number and the code, keyed with the code's own random salt and the
  application's ``secret`` (a key kept outside the database, when given). The
  client's ``otp`` stores the text of the message with the code masked from the
  start: only the transport is handed the code (``send_now(..., conceal=code)``).
* A code expires after its ``ttl`` (3 minutes by default), verifies once (two
  verifications racing, in any processes sharing the storage: one wins), and is
  locked after ``max_attempts`` wrong guesses. A new code replaces the earlier
  one: only the newest code of a number verifies.
* Each number gets at most so many codes per window (3 in 10 minutes and 10 a
  day by default): one more is refused with :class:`~isobil.OtpRateLimited`
  before anything is sent, and every code counts, sent or not.

Numbers are masked and codes never written in logs and errors.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from isobil import phone
from isobil._time import aware
from isobil.errors import InvalidValue, OtpRateLimited, TemplateError
from isobil.model import Message, MessageCategory, Sender
from isobil.storage import OtpRecord, Storage

__all__ = ["DEFAULT_LIMITS", "DEFAULT_TEMPLATE", "Otp", "OtpSent"]

log = logging.getLogger("isobil")

#: The default text: ``{brand}`` (the brand's code, left out with no brand), ``{code}``
#: and ``{minutes}`` (the ttl, rounded up) are filled in.
DEFAULT_TEMPLATE = (
    "{brand} doğrulama kodunuz: {code}. Kod {minutes} dakika geçerlidir, kimseyle paylaşmayın."
)
_NO_BRAND_TEMPLATE = (
    "Doğrulama kodunuz: {code}. Kod {minutes} dakika geçerlidir, kimseyle paylaşmayın."
)
#: At most 3 codes per number in 10 minutes and 10 in a day.
DEFAULT_LIMITS: tuple[tuple[timedelta, int], ...] = (
    (timedelta(minutes=10), 3),
    (timedelta(days=1), 10),
)
_FIELDS = frozenset({"brand", "code", "minutes"})
#: Sends one message to one number: the client's ``send_now`` (or ``send``), called
#: as ``send(message, number)``, and with ``conceal=code`` when the ``Otp`` is told
#: it takes that keyword.
SendFunction = Callable[..., Any]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@attrs.frozen
class OtpSent:
    """A code sent (or tried): to whom, until when, and what became of the message.

    ``status`` is the send's outcome for the number (``"submitted"``,
    ``"blocked"``, ``"failed"``, ``"unknown"`` …, as :class:`~isobil.OutcomeStatus`)
    and ``reason`` why, when it did not go. The code itself is not here: it went
    to the phone only.
    """

    number: str = attrs.field(repr=phone.mask)
    expires_at: datetime
    status: str
    message_id: str | None = None
    campaign_id: str | None = None
    reason: str | None = None

    @property
    def sent(self) -> bool:
        """Whether the message left for the phone (submitted, or maybe: ``unknown``)."""
        return self.status in ("submitted", "unknown")


def code_hash(secret: bytes, salt: bytes, number: str, code: str) -> str:
    """The hex HMAC-SHA256 kept for ``code`` sent to ``number``: keyed with
    ``secret + salt``, over ``number:code``."""
    return hmac.new(secret + salt, f"{number}:{code}".encode(), hashlib.sha256).hexdigest()


def _check_limits(limits: Sequence[tuple[timedelta, int]]) -> tuple[tuple[timedelta, int], ...]:
    checked = []
    for limit in limits:
        try:
            window, most = limit
        except (TypeError, ValueError):
            raise InvalidValue(f"an OTP limit is a (window, most) pair, got {limit!r}") from None
        if not isinstance(window, timedelta) or window <= timedelta(0):
            raise InvalidValue(
                f"an OTP limit's window must be a positive timedelta, got {window!r}"
            )
        if isinstance(most, bool) or not isinstance(most, int) or most < 1:
            raise InvalidValue(f"an OTP limit's count must be a positive integer, got {most!r}")
        checked.append((window, most))
    return tuple(checked)


def _span(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return f"{window.total_seconds():g} s"


def _describe(limits: Sequence[tuple[timedelta, int]]) -> str:
    return ", ".join(f"{most} in {_span(window)}" for window, most in limits) or "none"


class Otp:
    """Send one-time codes and verify them; ``client.otp``.

    ``send`` sends one message to one number (the client's ``send_now``). With
    ``conceal=True`` it is given the code as ``send(..., conceal=code)``, as
    ``Client.send_now`` takes it, so that storage never holds the code; either way
    the code is masked in storage once the send returns (with ``conceal`` there is
    nothing left to mask). ``sender`` gives the default brand (its only brand,
    when it has one). ``secret`` keys the hashes: with one kept outside the
    database (an environment variable), a copy of the database alone does not let
    anyone test codes against them.
    ``limits`` are ``(window, most)`` pairs per number, ``max_attempts`` the
    wrong guesses that lock a code, ``clock`` returns the current aware time
    (tests inject one). All may be changed on the object afterwards.
    """

    def __init__(
        self,
        storage: Storage,
        send: SendFunction,
        *,
        sender: Sender | None = None,
        secret: bytes | str | None = None,
        limits: Sequence[tuple[timedelta, int]] = DEFAULT_LIMITS,
        max_attempts: int = 5,
        clock: Callable[[], datetime] = _utcnow,
        conceal: bool = False,
    ) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise InvalidValue(f"max_attempts must be a positive integer, got {max_attempts!r}")
        self.storage = storage
        self._send = send
        self._conceal = conceal
        self.brand = sender.brands[0].code if sender and len(sender.brands) == 1 else None
        self.secret = secret
        self._limits = _check_limits(limits)
        self.max_attempts = max_attempts
        self.clock = clock

    def __repr__(self) -> str:
        return f"<Otp brand={self.brand} limits={_describe(self.limits)}>"

    @property
    def limits(self) -> tuple[tuple[timedelta, int], ...]:
        """The ``(window, most)`` limits per number; settable."""
        return self._limits

    @limits.setter
    def limits(self, limits: Sequence[tuple[timedelta, int]]) -> None:
        self._limits = _check_limits(limits)

    @property
    def _key(self) -> bytes:
        secret = self.secret
        return secret.encode() if isinstance(secret, str) else secret or b""

    def _now(self) -> datetime:
        return aware(self.clock(), "the time the OTP clock returns").astimezone(UTC)

    def send(
        self,
        number: str | int | float,
        *,
        brand: str | None = None,
        length: int = 6,
        ttl: timedelta = timedelta(minutes=3),
        template: str | None = None,
    ) -> OtpSent:
        """Send a fresh ``length``-digit code to ``number``, valid for ``ttl``.

        The message is informational (no consent needed) and reads
        :data:`DEFAULT_TEMPLATE` unless ``template`` (with ``{code}``, and
        optionally ``{brand}`` and ``{minutes}``) says otherwise; ``brand``
        defaults to the sender's only brand. Raises
        :class:`~isobil.OtpRateLimited` when the number had its codes for now,
        :class:`~isobil.ComplianceError` when the rules refuse the message.
        """
        to = phone.normalize(number)
        if isinstance(length, bool) or not isinstance(length, int) or not 4 <= length <= 10:
            raise InvalidValue(f"an OTP code has 4 to 10 digits, got length={length!r}")
        if not isinstance(ttl, timedelta) or ttl <= timedelta(0):
            raise InvalidValue(f"ttl must be a positive timedelta, got {ttl!r}")
        brand = brand if brand is not None else self.brand
        if template is None:
            template = DEFAULT_TEMPLATE if brand is not None else _NO_BRAND_TEMPLATE
        code = f"{secrets.randbelow(10**length):0{length}d}"
        text = _render(
            template, brand=brand or "", code=code, minutes=-(-ttl // timedelta(minutes=1))
        )
        now = self._now()
        salt = secrets.token_bytes(16)
        record = OtpRecord(
            id=uuid.uuid4().hex,
            number=to,
            brand=brand,
            hash=code_hash(self._key, salt, to, code),
            salt=salt.hex(),
            created_at=now,
            expires_at=now + ttl,
        )
        until = self.storage.add_otp(record, limits=self.limits)
        if until is not None:
            wait = max((until - now).total_seconds(), 0.0)
            log.info("isobil: one-time code to %s refused by its rate limit", phone.mask(to))
            raise OtpRateLimited(
                f"{phone.mask(to)} was sent as many one-time codes as its limits allow "
                f"({_describe(self.limits)}); the next may go in {wait:.0f} s",
                retry_after=wait,
            )
        message = Message(text, category=MessageCategory.INFORMATIONAL, brand=brand)
        result = self._send(message, to, **({"conceal": code} if self._conceal else {}))
        # The client's send_now answers with the outcome, its send with a SendResult.
        outcome = result.outcomes[0] if hasattr(result, "outcomes") else result
        campaign_id: str | None = getattr(result, "campaign_id", None)
        if campaign_id is None and outcome.message_id is not None:
            stored = self.storage.get_message(outcome.message_id)
            campaign_id = None if stored is None else stored.campaign_id
        if campaign_id is not None:
            # Whatever the send function stored of the code: masked from now on.
            self.storage.redact_campaign_text(campaign_id, code, "*" * length)
        status = str(getattr(outcome.status, "value", outcome.status))
        log.info("isobil: one-time code to %s: %s", phone.mask(to), status)
        return OtpSent(
            number=to,
            expires_at=record.expires_at,
            status=status,
            message_id=outcome.message_id,
            campaign_id=campaign_id,
            reason=outcome.reason,
        )

    def verify(self, number: str | int | float, code: str) -> bool:
        """Whether ``code`` is the newest code sent to ``number``, unexpired, unused and
        not locked; a ``True`` uses it up. A wrong code counts against that code."""
        to = phone.normalize(number)
        if not isinstance(code, str):
            raise InvalidValue(f"an OTP code is text, got {type(code).__name__}")
        given = "".join(code.split())
        record = self.storage.latest_otp(to)
        if record is None:
            return False
        now = self._now()
        if (
            record.used_at is not None
            or record.expires_at <= now
            or record.attempts >= self.max_attempts
        ):
            return False
        expected = code_hash(self._key, bytes.fromhex(record.salt), to, given)
        if hmac.compare_digest(expected, record.hash):
            return self.storage.use_otp(record.id, now=now, max_attempts=self.max_attempts)
        attempts = self.storage.fail_otp(record.id)
        if attempts >= self.max_attempts:
            log.info("isobil: one-time code to %s locked after %d wrong", phone.mask(to), attempts)
        return False

    def purge(self) -> int:
        """Delete codes that no limit counts any more and that have expired; return
        how many (run it now and then: a worker's daily job)."""
        longest = max((window for window, _ in self.limits), default=timedelta(0))
        now = self._now()
        return self.storage.purge_otp(created_before=now - longest, now=now)


def _render(template: str, **values: object) -> str:
    if "{code}" not in template:
        raise TemplateError(f"the OTP template {template!r} has no {{code}}")
    try:
        text = template.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        allowed = ", ".join("{" + f + "}" for f in sorted(_FIELDS))
        raise TemplateError(
            f"the OTP template {template!r} cannot be filled ({exc!r}); it may use {allowed}"
        ) from None
    return text.strip()
