"""An opt-out takes effect at once: recorded while the recipient's own batch is in
flight, no message leaves for that recipient after it was recorded.

Each round sends one commercial batch and, when a random message of it has left,
an inbound "ACME RET" of a random recipient of the same batch is handled on
another thread. The transport logs what leaves; the RET thread logs when the RET
is recorded. In half the rounds the batch waits until the RET is recorded (the
last look must stop the rest), in the other half the two race freely. "Recorded"
is logged the moment the ledger has stored the RET, before its auto reply.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest

import _pg
from _acme import ACME, IYS_NOT_WIRED
from isobil import Client, Message, OutcomeStatus
from isobil.errors import TransportError
from isobil.model import ConsentEvent, ConsentStatus
from isobil.storage._records import reason_rule_ids
from isobil.transport import FakeTransport, OutboundSms, SubmitResult

OFFER = Message(
    "KAMPANYA: Tüm ürünlerde %20 indirim! acme.com.tr/kampanya "
    "Ret için ACME RET yazıp 4605'e gönderin.",
    brand="ACME",
)
BATCH = 30
ROUNDS = 20


class Racing(FakeTransport):
    """Logs each commercial message as it leaves; after the ``signal_at``-th one it
    starts the RET and (``wait``) lets the batch go on only once it is recorded."""

    def __init__(self, log: list[tuple[str, str]], lock: threading.Lock) -> None:
        super().__init__()
        self.log, self.log_lock = log, lock
        self.signal_at = -1
        self.wait = False
        self.go = threading.Event()
        self.recorded = threading.Event()
        self._count = 0

    def _leave(self, sms: OutboundSms, error: TransportError | None) -> SubmitResult:
        result = super()._leave(sms, error)
        if sms.commercial and result.error is None:
            with self.log_lock:
                self.log.append(("sent", sms.to))
        return result

    def _submit_one(self, sms: OutboundSms) -> SubmitResult:
        result = super()._submit_one(sms)  # the last look is released here
        if sms.commercial:
            self._count += 1
            if self._count == self.signal_at:
                self.go.set()
                if self.wait:
                    assert self.recorded.wait(60), "the RET was never recorded"
        return result


def _round(url: str, seed: int) -> tuple[bool, int]:
    """One round; returns (whether the last look stopped the opted-out recipient's
    message, how many of the batch were blocked)."""
    rng = random.Random(seed)
    numbers = [f"+90532{seed:03d}{i:04d}" for i in range(BATCH)]
    log: list[tuple[str, str]] = []
    lock = threading.Lock()
    transport = Racing(log, lock)
    transport.signal_at = rng.randrange(1, BATCH)
    transport.wait = seed % 2 == 0
    victim = numbers[rng.randrange(BATCH)]
    with Client(ACME, transport=transport, database_url=url, batch_size=BATCH) as client:
        for number in numbers:
            client.consent.record(number, "ONAY", source="HS_ISLAK_IMZA", brand="ACME")

        confirm = client.consent.on_recorded

        def recorded(event: ConsentEvent) -> None:  # called as soon as the RET is stored
            if event.status is ConsentStatus.RET:
                with lock:
                    log.append(("recorded", event.address))
                transport.recorded.set()
            if confirm is not None:
                confirm(event)

        client.consent.on_recorded = recorded

        failures: list[BaseException] = []

        def opt_out() -> None:
            try:
                assert transport.go.wait(60), "the batch never started"
                transport.receive(victim, "4605", "ACME RET")  # then its auto reply is sent
            except BaseException as exc:
                failures.append(exc)
                transport.recorded.set()  # let the batch end; the failure is raised below

        thread = threading.Thread(target=opt_out)
        thread.start()
        try:
            result = client.send(OFFER, to=numbers, acknowledge=IYS_NOT_WIRED)
        finally:
            transport.go.set()
            thread.join()
        if failures:
            raise failures[0]
        [kept] = [o for o in result.outcomes if o.number == victim]
        stored = client.storage.get_message(kept.message_id or "")
    recorded_at = log.index(("recorded", victim))
    late = [entry for entry in log[recorded_at:] if entry == ("sent", victim)]
    assert late == [], f"round {seed}: a message left after the opt-out was recorded"
    [outcome] = [o for o in result.outcomes if o.number == victim]
    sent_before = ("sent", victim) in log[:recorded_at]
    assert (outcome.status is OutcomeStatus.SUBMITTED) == sent_before
    stopped = outcome.status is OutcomeStatus.BLOCKED
    if stopped:
        assert outcome.rule_ids == ("TR-OPTOUT-001",)
        # Stored as every reason is, so outcomes read back from storage name the rule too.
        assert stored is not None
        assert reason_rule_ids(stored.reason) == ("TR-OPTOUT-001",)
        assert (stored.reason or "").startswith("TR-OPTOUT-001: ")  # the "ID: why" form
    assert len(result.submitted) + len(result.blocked) == BATCH
    return stopped, len(result.blocked)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_no_message_leaves_after_the_opt_out_is_recorded(backend: str, tmp_path: Path) -> None:
    """20 rounds per backend, each on an empty database: 0 messages leave after the
    RET is recorded; when the batch waits for the RET, a victim not yet sent is
    stopped by the last look."""
    rounds = []
    for seed in range(ROUNDS):
        if backend == "sqlite":
            rounds.append(_round(f"sqlite:///{tmp_path / f'race-{seed}.db'}", seed))
        else:
            with _pg.fresh_database() as url:
                rounds.append(_round(url, seed))
    assert all(blocked <= 1 for _, blocked in rounds)
    assert any(stopped for stopped, _ in rounds[0::2]), "the last look was never exercised"


def test_an_onay_given_again_is_not_stopped_by_the_last_look(tmp_path: Path) -> None:
    """The last look remembers a RET only until the recipient opts in again."""
    fake = FakeTransport()
    with Client(ACME, transport=fake, database_url=f"sqlite:///{tmp_path / 'again.db'}") as client:
        client.consent.record("05321234567", "RET", source="HS_ISLAK_IMZA", brand="ACME")
        client.consent.record("05321234567", "ONAY", source="HS_ISLAK_IMZA", brand="ACME")
        result = client.send(OFFER, to="05321234567", acknowledge=IYS_NOT_WIRED)
    assert [o.status for o in result.outcomes] == [OutcomeStatus.SUBMITTED]
