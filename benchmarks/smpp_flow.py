"""SMPP flow control against a server that allows no burst (issue 17's Done-when).

The simulated SMSC (``SmscSimulator(max_rate=N)``) accepts one ``submit_sm`` at
least 1/N s after the previous accepted one and answers ESME_RTHROTTLED to the
others, as Jasmin's per-user throughput does. An ``SmppTransport`` with default
settings submits ``--n`` single-part messages in one batch; the achieved rate is
measured with the server's own accept timestamps (first to last acceptance).

Usage:

    .venv/bin/python benchmarks/smpp_flow.py [--rate 10] [--n 1000]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

from isobil.errors import Throttled
from isobil.testing.smsc import SmscSimulator
from isobil.testing.transport import outbound
from isobil.transport import SmppTransport

PASSWORD = "bench"  # noqa: S105 - the simulated SMSC accepts any password


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=10.0, help="submits/s the server allows")
    parser.add_argument("--n", type=int, default=1000, help="messages")
    args = parser.parse_args()
    with SmscSimulator(max_rate=args.rate) as smsc:
        with SmppTransport(smsc.host, smsc.port, system_id="bench", password=PASSWORD) as transport:
            transport.wait_bound(10)
            batch = [
                outbound(f"+90532{i:07d}", f"Siparişiniz {i} kargoda.", i) for i in range(args.n)
            ]
            started = time.monotonic()
            results = transport.submit(batch)
            wall = time.monotonic() - started
            stats = transport.stats()
        parts = smsc.parts()
        refused = smsc.refused()
    times = sorted(p.accepted_at for p in parts)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    gaps = [b - a for a, b in itertools.pairwise(times)]
    cuts = statistics.quantiles(gaps, n=20)
    print(f"server allows {args.rate:g}/s, no burst; {args.n} messages, default settings")
    print(
        f"accepted {sum(r.ok for r in results)}/{args.n}, "
        f"Throttled {sum(isinstance(r.error, Throttled) for r in results)}, "
        f"parts received {len(parts)}"
    )
    print(
        f"achieved {achieved:.2f}/s = {achieved / args.rate:.1%} of the allowed rate "
        f"(server clock); wall {wall:.1f} s"
    )
    print(
        f"refused {len(refused)} submit_sm ({len(refused) / (len(refused) + len(parts)):.1%}); "
        f"rate cuts {stats.rate_cuts}; learned rate {stats.rate:.2f}/s"
    )
    print(
        f"gap between acceptances ms: p5 {cuts[0] * 1e3:.1f}, median {cuts[9] * 1e3:.1f}, "
        f"p95 {cuts[18] * 1e3:.1f} (minimum allowed {1e3 / args.rate:.1f})"
    )


if __name__ == "__main__":
    main()
