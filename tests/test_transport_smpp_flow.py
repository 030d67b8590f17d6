"""Adaptive flow control against a server that allows no burst, and binds refused for good.

The Done-when of issue 17: against a server that accepts 10 submit_sm a second
with no burst and answers ESME_RTHROTTLED beyond, 1,000 messages are all accepted
with default settings, at >= 90 % of the allowed rate, none failing Throttled;
and a wrong password fails a send at once, naming the bind status, and stops
``isobil worker`` with a non-zero exit.

The rate is measured with the simulator's own accept timestamps (its clock),
never with the test's. :class:`FlowControl` is also checked on its own against a
simulated strict server over many rates, round trips and jitters.
"""

from __future__ import annotations

import heapq
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _acme import ACME
from isobil import BindRefused, Client, ConfigurationError, ConnectionFailed, Message, OutcomeStatus
from isobil._cli import main
from isobil.errors import Throttled
from isobil.testing.smsc import SmscSimulator
from isobil.testing.transport import outbound
from isobil.transport import SmppTransport
from isobil.transport._smpp_flow import FlowControl

PASSWORD = "r1ght"  # noqa: S105 - a test credential
WRONG = "wr0ng!"  # a test credential, the one that is refused

#: The allowed rate of the strict server in the suite. The Done-when's server allows
#: 10/s; this one allows twice that, so 1,000 messages take ~52 s instead of ~105 s.
#: The ratio to the allowed rate is what is asserted; the clock's jitter, the same
#: in milliseconds at both rates, weighs twice as much here, so the suite is the
#: stricter of the two (benchmarks/smpp_flow.py runs the 10/s case itself).
ALLOWED = 20.0


def _rate(accepted_at: list[float]) -> float:
    """Accepted submits per second between the first and the last acceptance."""
    ordered = sorted(accepted_at)
    return (len(ordered) - 1) / (ordered[-1] - ordered[0])


# -- the whole transport against the simulator ------------------------------------


@pytest.mark.slow
def test_a_no_burst_server_gets_everything_at_90_percent_of_its_rate() -> None:
    """1,000 messages, default settings, a server allowing 20/s with no burst: every
    message accepted once, none Throttled, at >= 90 % of the allowed rate by the
    server's own clock; the learned rate and the measured one show in the stats."""
    with SmscSimulator(max_rate=ALLOWED) as smsc:
        with SmppTransport(smsc.host, smsc.port, system_id="acme", password=PASSWORD) as transport:
            transport.wait_bound(10)
            batch = [
                outbound(f"+90532{i:07d}", f"Siparişiniz {i} kargoda.", i) for i in range(1000)
            ]
            results = transport.submit(batch)
            stats = transport.stats()
        parts = smsc.parts()
        refused = smsc.refused()
    assert [r.error for r in results if not r.ok] == []
    assert not any(isinstance(r.error, Throttled) for r in results)
    assert len(parts) == 1000  # each message exactly once
    assert len({p.destination for p in parts}) == 1000
    achieved = _rate([p.accepted_at for p in parts])
    assert achieved >= 0.9 * ALLOWED, (achieved, stats)
    assert achieved <= ALLOWED * 1.001  # the server's own limit, as a check of the measure
    assert stats.throttled == len(refused)
    assert stats.rate is not None
    assert stats.rate_cuts >= 1
    assert 0.8 * ALLOWED <= stats.accepted_rate <= ALLOWED * 1.001
    # Few refusals: the old pause-then-burst lost ~9 in 10 submits at such a server.
    assert len(refused) < 0.1 * len(parts), len(refused)


def test_a_never_throttling_server_is_not_paced() -> None:
    """Without a throttle answer there is no pacing: the window alone limits."""
    with (
        SmscSimulator() as smsc,
        SmppTransport(smsc.host, smsc.port, system_id="acme", password=PASSWORD) as transport,
    ):
        transport.wait_bound(10)
        results = transport.submit([outbound(f"+90532{i:07d}", "x", i) for i in range(200)])
        stats = transport.stats()
    assert all(r.ok for r in results)
    assert (stats.rate, stats.rate_cuts, stats.window) == (None, 0, 10)


def test_throttling_that_persists_fails_after_throttle_give_up() -> None:
    """A server that refuses everything: the part fails Throttled once nothing was
    accepted for ``throttle_give_up`` seconds, saying how long; not after 10 refusals."""
    with SmscSimulator() as smsc:
        smsc.throttle(10_000)
        with SmppTransport(
            smsc.host,
            smsc.port,
            system_id="acme",
            password=PASSWORD,
            throttle_give_up=0.5,
            max_throttle_delay=0.05,
        ) as transport:
            transport.wait_bound(10)
            [result] = transport.submit([outbound("+905321234567", "x")])
            stats = transport.stats()
    assert isinstance(result.error, Throttled)
    assert "without accepting a single submit_sm; gave up" in str(result.error)
    assert result.error.code == "ESME_RTHROTTLED"
    assert stats.throttled > 10  # the old limit of 10 refusals no longer applies


# -- binds refused for good ----------------------------------------------------


def test_a_wrong_password_fails_a_send_at_once_naming_the_status() -> None:
    """ESME_RINVPASWD is not retried: one bind attempt, wait_bound raises BindRefused,
    a Client's send fails every message with it, the password in no message."""
    with SmscSimulator(password=PASSWORD) as smsc:
        transport = SmppTransport(smsc.host, smsc.port, system_id="acme", password=WRONG)
        with pytest.raises(BindRefused) as raised:
            transport.wait_bound(10)
        refusal = raised.value
        with Client(ACME, transport=transport) as client:
            result = client.send(
                Message("Kargonuz yolda.", category="informational"),
                to=["05321110031", "05321110032"],
            )
            stats = transport.stats()
        refusals = smsc.bind_refusals()
        accepted_binds = smsc.binds()
    assert isinstance(refusal, ConfigurationError)
    assert isinstance(refusal, ConnectionFailed)
    assert refusal.status == "ESME_RINVPASWD"
    assert "ESME_RINVPASWD" in str(refusal)
    assert "'acme'" in str(refusal)
    assert [o.status for o in result.outcomes] == [OutcomeStatus.FAILED] * 2
    assert all("ESME_RINVPASWD" in (o.reason or "") for o in result.outcomes)
    # No retry, no back-off: exactly one bind was tried, and none got through.
    assert [r["status"] for r in refusals] == [0x0E]
    assert accepted_binds == []
    assert (stats.bind_failures, stats.parts_sent) == (1, 0)
    for text in [str(refusal), *(o.reason or "" for o in result.outcomes)]:
        assert WRONG not in text


def test_a_send_queued_before_the_refusal_fails_with_it() -> None:
    """A batch submitted while the bind is still unanswered fails with BindRefused
    as soon as the refusal comes, and later submits raise it at once."""
    with SmscSimulator(password=PASSWORD, system_id="acme") as smsc:
        with SmppTransport(smsc.host, smsc.port, system_id="other", password=PASSWORD) as transport:
            with pytest.raises(BindRefused) as first:
                transport.submit([outbound("+905321110041", "x")])
            with pytest.raises(BindRefused):
                transport.submit([outbound("+905321110042", "y")])
            assert transport.refused is first.value
        refusals = smsc.bind_refusals()
    assert first.value.status == "ESME_RINVSYSID"
    assert len(refusals) == 1


def test_the_right_password_goes_through_the_gate() -> None:
    """The simulator's credential check lets the right bind through to smpp34."""
    with SmscSimulator(password=PASSWORD) as smsc:
        with SmppTransport(smsc.host, smsc.port, system_id="acme", password=PASSWORD) as transport:
            transport.wait_bound(10)
            [result] = transport.submit([outbound("+905321110051", "Merhaba")])
        assert smsc.received() == [("+905321110051", "Merhaba")]
        assert smsc.bind_refusals() == []
    assert result.ok


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with its own database; nothing from the environment leaks in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISOBIL_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return tmp_path


def test_the_worker_stops_with_the_bind_status(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`isobil worker` against an SMSC refusing the password exits 1, naming
    ESME_RINVPASWD, without the password; it does not spin."""
    monkeypatch.setenv("SMPP_PASSWORD", WRONG)
    init = ["init", "--name", "Acme Ticaret A.Ş.", "--mersis", "0123456789012345"]
    init += ["--contact", "0850 123 45 67", "--originator", "ACME", "--brand", "ACME"]
    with SmscSimulator(password=PASSWORD) as smsc:
        assert main(init) == 0
        config = workdir / "isobil.toml"
        config.write_text(
            config.read_text(encoding="utf-8")
            + f'\n[transport]\nkind = "smpp"\nhost = "{smsc.host}"\nport = {smsc.port}\n'
            'system_id = "acme"\npassword_env = "SMPP_PASSWORD"\n',
            encoding="utf-8",
        )
        capsys.readouterr()
        code = main(["worker", "--interval", "0.01"])
        captured = capsys.readouterr()
        refusals = smsc.bind_refusals()
    assert code == 1
    assert "worker stopped" in captured.err
    assert "ESME_RINVPASWD" in captured.err
    assert WRONG not in captured.out + captured.err
    assert len(refusals) == 1


# -- FlowControl on its own, against a simulated strict server --------------------


def _simulate(
    allowed: float, messages: int, rtt: float, jitter: float, window: int, seed: int
) -> tuple[list[float], int]:
    """Send ``messages`` through FlowControl to a server accepting one submit per
    1/``allowed`` s (no burst); returns the accept times and the refusals."""
    rng = random.Random(seed)
    flow = FlowControl(window, None, min_rate=1 / 30, now=0.0)
    now, pending, in_flight, sequence = 0.0, messages, 0, 0
    events: list[tuple[float, int, str, float]] = []
    last_accepted, accepted, refused = -1e9, list[float](), 0
    while len(accepted) < messages:
        count = min(flow.room(now, in_flight), pending)
        if count > 0:
            flow.sent(now, count)
            for _ in range(count):
                sequence += 1
                arrival = now + rtt / 2 + rng.random() * jitter
                heapq.heappush(events, (arrival, sequence, "arrive", now))
            pending, in_flight = pending - count, in_flight + count
        due = events[0][0] if events else float("inf")
        if pending and int(flow.window) > in_flight:
            due = min(due, flow.next_slot(now))
        now = max(now, due)
        while events and events[0][0] <= now:
            at, _, kind, sent_at = heapq.heappop(events)
            if kind == "arrive":
                ok = at - last_accepted >= 1 / allowed
                if ok:
                    last_accepted = at
                    accepted.append(at)
                sequence += 1
                heapq.heappush(events, (at + rtt / 2, sequence, "ok" if ok else "no", sent_at))
            else:
                in_flight -= 1
                if kind == "ok":
                    flow.accepted(at, sent_at)
                else:
                    refused, pending = refused + 1, pending + 1
                    flow.throttled(at, sent_at)
    return accepted, refused


@settings(deadline=None, max_examples=40)
@given(
    allowed=st.sampled_from([2.0, 5.0, 10.0, 20.0, 50.0]),
    rtt=st.sampled_from([0.0005, 0.005, 0.02, 0.1]),
    window=st.integers(1, 20),
    seed=st.integers(0, 2**16),
)
def test_flow_control_reaches_90_percent_of_a_strict_server(
    allowed: float, rtt: float, window: int, seed: int
) -> None:
    """With arrival jitter of 1 % of the interval, any round trip and any window that
    is not itself the limit, the accepted rate over 600 messages is >= 90 % of the
    allowed one (>= 10 s at it), and few submits are refused."""
    window = max(window, int(1.5 * allowed * rtt) + 1)  # the window must not be the limit
    accepted, refused = _simulate(allowed, 600, rtt, 0.01 / allowed, window, seed)
    assert _rate(accepted) >= 0.9 * allowed
    assert refused < 60 + window  # the first, unpaced window is mostly refused


def test_flow_control_halves_far_above_and_cuts_gently_near_the_ceiling() -> None:
    """Far above what the server accepts the rate halves; near it, it is cut by a
    twentieth at most; refusals of submits sent before a cut change nothing."""
    flow = FlowControl(10, 1000.0, min_rate=0.1, now=0.0)
    flow.sent(0.0, 1)
    assert flow.throttled(0.01, sent_at=0.0)
    assert flow.rate == 500.0
    assert flow.window == 5
    assert not flow.throttled(0.02, sent_at=0.005)  # sent before the cut: old news
    assert flow.rate == 500.0
    for i in range(20):  # the server accepts 800/s lately; the rate grows back
        flow.accepted(0.5 + i / 800, sent_at=0.02)
    before = flow.rate
    assert 500.0 < before < 980.0  # towards 98 % of the ceiling (1,000/s, refused)
    assert flow.throttled(0.6, sent_at=0.59)
    assert flow.rate == pytest.approx(min(before * 0.95, 800.0))  # gently: ~ as seen
    assert flow.ceiling == before
    flow.throttled(0.7, sent_at=0.65)  # nothing accepted since: seen is old, ~800/s
    assert flow.rate == pytest.approx(min(before * 0.95, 800.0) * 0.95)


def test_flow_control_never_goes_below_its_floor_nor_above_the_cap() -> None:
    """Refusals without end stop at min_rate; growth never passes ``throughput``."""
    flow = FlowControl(10, 50.0, min_rate=2.0, now=0.0)
    for i in range(20):
        flow.throttled(float(i), sent_at=float(i))
    assert flow.rate == 2.0
    assert flow.window == 1
    capped = FlowControl(10, 50.0, min_rate=2.0, now=0.0)
    capped.throttled(0.0, sent_at=0.0)
    assert capped.rate == 25.0
    for i in range(2000):
        capped.accepted(1 + i / 10, sent_at=1 + i / 10)
    assert capped.rate == 50.0
    assert capped.window == 10
