"""Adaptive flow control for SMPP submits: AIMD on throttle answers, even pacing.

:class:`FlowControl` is pure bookkeeping on a clock it is given (the transport's
``time.monotonic()``, or a simulated one in the tests): the I/O thread asks it
how many ``submit_sm`` may go now, tells it what went and what came back, and it
keeps a send window and a pacing rate.

- Until the SMSC first refuses with ESME_RTHROTTLED or ESME_RMSGQFUL, sending is
  limited only by the window and the configured ``throughput`` (a server that
  never throttles is never slowed down).
- A refusal of a submit sent after the last cut is news: the window is halved and
  the rate is cut — halved when it was well above what the server was seen to
  accept, by a tenth when the server was accepting about that much — and the rate
  that was refused becomes the learned ceiling. Refusals of submits sent before
  the cut say nothing new and change nothing.
- Each accepted submit sent after the cut grows the rate back: quickly up to the
  ceiling (the gap halves every quarter second), then probing beyond it by 2% of
  the ceiling a second; the window grows by one per window's worth of answers.
- Submits are paced evenly at the rate, one per slot, never a window at once: a
  server that allows no burst refuses almost nothing once the rate is learned.

``measured`` is the accepted submits per second over the last few seconds, what
``SmppStats.accepted_rate`` shows.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

__all__ = ["FlowControl"]

#: A cut to at most this fraction of the refused rate when the server was seen
#: accepting about as much (a gentle step down near a learned ceiling).
GENTLE_CUT: Final = 0.95
#: Below the ceiling the gap to it halves every this many seconds of success.
RECOVERY_HALF_LIFE: Final = 0.25
#: Recovery aims this far below the learned ceiling.
BELOW_CEILING: Final = 0.98
#: There the rate holds this many seconds before it probes further.
HOLD: Final = 3.0
#: … and at least as long as this many submits take (a refusal costs a whole slot).
HOLD_SUBMITS: Final = 50
#: Probing, the rate grows by this fraction of the ceiling a second.
PROBE_PER_SECOND: Final = 0.01
#: Accepted submits are counted over this many seconds for ``measured``.
MEASURE_SPAN: Final = 5.0
#: The accepted rate that informs a cut is measured over this many acceptances …
CUT_COUNT: Final = 16
#: … none older than this many seconds.
CUT_AGE: Final = 10.0
#: Pacing allows at most this many seconds' worth of submits at once (at least one).
PACING_BURST: Final = 0.002
#: Tokens this close to a whole one count as one (float rounding).
_EPSILON: Final = 1e-9
#: The first cut, from unpaced sending, starts from at most this rate (submits/s).
MAX_ESTIMATE: Final = 10_000.0


class FlowControl:
    """A send window and a pacing rate, adapted to the SMSC's throttle answers.

    ``window`` is the most unanswered submits allowed (the cap; the working
    window starts there), ``throughput`` the most submits a second (None: no
    cap), ``min_rate`` the floor the rate is never cut below.
    """

    def __init__(
        self, window: int, throughput: float | None, *, min_rate: float, now: float
    ) -> None:
        self.max_window = window
        self.cap = throughput
        self.min_rate = min_rate
        self.window = float(window)
        #: The pacing rate in submits/s; None while nothing was refused and no cap is set.
        self.rate: float | None = throughput
        #: The highest rate the SMSC refused lately (None: it never refused).
        self.ceiling: float | None = None
        self.cuts = 0
        self._cut_at = -math.inf
        self._grown_at = now
        self._steady_since = now
        self._tokens = 1.0
        self._tokens_at = now
        self._sent: deque[float] = deque(maxlen=64)
        self._accepted: deque[float] = deque()
        self._started = now

    # -- sending -----------------------------------------------------------

    def room(self, now: float, in_flight: int) -> int:
        """How many submits may go now, with ``in_flight`` unanswered."""
        room = int(self.window) - in_flight
        if room <= 0 or self.rate is None:
            return max(room, 0)
        self._refill(now)
        return min(room, int(self._tokens + _EPSILON))

    def next_slot(self, now: float) -> float:
        """When the pacing allows the next submit (``now`` if it does already)."""
        if self.rate is None:
            return now
        self._refill(now)
        if self._tokens + _EPSILON >= 1:
            return now
        # At least a microsecond on: a wait too short to change a float would spin.
        return now + max((1 - self._tokens) / self.rate, 1e-6)

    def sent(self, now: float, count: int) -> None:
        """``count`` submits went on the wire at ``now``."""
        if self.rate is not None:
            self._refill(now)
            self._tokens -= count
        self._sent.extend([now] * min(count, 64))

    def _refill(self, now: float) -> None:
        if self.rate is not None:
            burst = max(1.0, self.rate * PACING_BURST)
            self._tokens = min(burst, self._tokens + (now - self._tokens_at) * self.rate)
        self._tokens_at = now

    # -- answers -----------------------------------------------------------

    def accepted(self, now: float, sent_at: float) -> None:
        """A submit sent at ``sent_at`` was accepted at ``now``."""
        self._accepted.append(now)
        # The last few seconds, and at least the last CUT_COUNT whatever their age.
        while len(self._accepted) > CUT_COUNT and self._accepted[0] <= now - MEASURE_SPAN:
            self._accepted.popleft()
        if sent_at < self._cut_at:
            return  # sent at the old rate: no news about the new one
        if self.window < self.max_window:
            self.window = min(float(self.max_window), self.window + 1 / self.window)
        if self.rate is None or self.ceiling is None:
            self._grown_at = now
            return
        elapsed = min(1.0, max(0.0, now - self._grown_at))
        self._grown_at = now
        target = self.ceiling * BELOW_CEILING
        if self.rate < target:
            gap = (target - self.rate) * 0.5 ** (elapsed / RECOVERY_HALF_LIFE)
            # Close enough is the target: an asymptote would never get there.
            self.rate = target if gap < target * 0.005 else target - gap
            self._steady_since = now
        elif now - self._steady_since >= max(HOLD, HOLD_SUBMITS / self.ceiling):
            self.rate += self.ceiling * PROBE_PER_SECOND * elapsed
        if self.cap is not None:
            self.rate = min(self.rate, self.cap)

    def throttled(self, now: float, sent_at: float) -> bool:
        """A submit sent at ``sent_at`` was refused for the rate; True when the rate was cut."""
        if sent_at < self._cut_at:
            return False  # sent before the last cut: already acted on
        refused = self.rate if self.rate is not None else self._send_rate()
        seen = self._accepted_rate(now)
        if seen is not None and seen >= refused / 2:
            new = min(refused * GENTLE_CUT, seen)
        else:
            new = refused / 2
        self.rate = max(self.min_rate, new)
        if self.cap is not None:
            self.rate = min(self.rate, self.cap)
        self.ceiling = max(refused, self.rate)
        self.window = max(1.0, self.window / 2)
        self._cut_at = now
        self._grown_at = now
        self._tokens = min(self._tokens, 0.0)  # the next submit waits a whole slot
        self._tokens_at = now
        self.cuts += 1
        return True

    # -- measurements --------------------------------------------------------

    def measured(self, now: float) -> float:
        """Submits accepted per second over the last ``MEASURE_SPAN`` seconds."""
        span = min(MEASURE_SPAN, now - self._started)
        if span <= 0:
            return 0.0
        count = sum(1 for t in tuple(self._accepted) if t > now - MEASURE_SPAN)
        return count / span

    def _accepted_rate(self, now: float) -> float | None:
        """Accepted submits/s over the last CUT_COUNT acceptances (if recent); None
        when too few to tell."""
        recent = [t for t in tuple(self._accepted)[-CUT_COUNT:] if t > now - CUT_AGE]
        if len(recent) < 3 or recent[-1] <= recent[0]:
            return None
        return (len(recent) - 1) / (recent[-1] - recent[0])

    def _send_rate(self) -> float:
        """The rate submits went out at lately (unpaced): the start of the first cut."""
        if len(self._sent) < 2:
            return MAX_ESTIMATE
        span = self._sent[-1] - self._sent[0]
        if span <= 0:
            return MAX_ESTIMATE
        return min(MAX_ESTIMATE, (len(self._sent) - 1) / span)
