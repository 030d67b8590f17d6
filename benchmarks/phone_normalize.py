"""Benchmark: isobil.phone.normalize against phonenumbers on Turkish numbers.

Generates N inputs (seeded) in the mix of shapes a real Turkish contact sheet
holds, then times on the same inputs, in the same run:

* baseline   phonenumbers.parse + format_number(E164) (what most code does;
             it does not check validity, so it accepts 0561… and 4605)
* validating phonenumbers.parse + is_valid_number + format_number(E164)
             (the same contract as normalize)
* isobil     isobil.phone.normalize

and checks that normalize gives exactly the validating result for every input.

    PYTHONPATH=src .venv/bin/python benchmarks/phone_normalize.py --n 1000000
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from isobil.errors import InvalidPhoneNumber
from isobil.phone import is_turkish_mobile, normalize

Raw = str | int | float

# Operator prefixes in rough proportion to subscribers (Turkcell 53x, Vodafone 54x,
# Türk Telekom 50x/55x).
MOBILE_PREFIXES = (
    *(f"53{d}" for d in "0123456789"),
    *(f"54{d}" for d in "0123456789"),
    "501", "505", "506", "507", "551", "552", "553", "554", "555", "559",
)  # fmt: skip
AREA_CODES = ("212", "216", "232", "312", "242", "224", "322", "262")


def _spaced(n: str) -> str:
    return f"0{n[:3]} {n[3:6]} {n[6:8]} {n[8:]}"


# (weight, how to render a 10-digit national number). Weights are percentages.
SHAPES: Sequence[tuple[int, Callable[[str], Raw]]] = (
    (28, _spaced),
    (14, lambda n: "0" + n),
    (14, lambda n: n),
    (8, lambda n: f"+90 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}"),
    (5, lambda n: "+90" + n),
    (5, lambda n: "90" + n),
    (6, lambda n: float(n)),
    (3, lambda n: int(n)),
    (3, lambda n: f"({'0' + n[:3]}) {n[3:6]} {n[6:8]} {n[8:]}"),
    (3, lambda n: f"0{n[:3]}-{n[3:6]}-{n[6:8]}-{n[8:]}"),
    (2, lambda n: f"+90 ({n[:3]}) {n[3:6]}-{n[6:]}"),
    (2, lambda n: f"0090 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}"),
    (2, lambda n: f"{n}.0"),
    (1, lambda n: f" {_spaced(n)}\t"),
)


def generate(count: int, seed: int) -> list[Raw]:
    """``count`` inputs: 95% mobiles, 3% landlines, 2% invalid, in the shapes above."""
    rng = random.Random(seed)
    weights = [weight for weight, _ in SHAPES]
    renderers = [render for _, render in SHAPES]
    inputs: list[Raw] = []
    for _ in range(count):
        roll = rng.random()
        subscriber = f"{rng.randrange(10_000_000):07d}"
        if roll < 0.95:
            national = rng.choice(MOBILE_PREFIXES) + subscriber
        elif roll < 0.98:
            national = rng.choice(AREA_CODES) + subscriber
        elif roll < 0.99:
            national = "561" + subscriber  # possible but not valid
        else:
            national = rng.choice(MOBILE_PREFIXES) + subscriber[:6]  # a digit short
        render = rng.choices(renderers, weights)[0]
        inputs.append(render(national))
    return inputs


def _as_text(raw: Raw) -> str:
    # phonenumbers takes text only: a float cell must become an integer string, and a
    # float written as text ("5321234567.0") loses its ".0", which phonenumbers would
    # read as one more digit. Both baselines get this help; it costs them ~0.2 µs.
    if not isinstance(raw, str):
        return str(int(raw))
    return raw[:-2] if raw.endswith(".0") else raw


def baseline(raw: Raw) -> str | None:
    """phonenumbers.parse + format_number(E164), without a validity check."""
    try:
        number = phonenumbers.parse(_as_text(raw), "TR")
    except NumberParseException:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def validating(raw: Raw) -> str | None:
    """phonenumbers.parse + is_valid_number + format_number(E164): normalize's contract."""
    try:
        number = phonenumbers.parse(_as_text(raw), "TR")
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def isobil(raw: Raw) -> str | None:
    """isobil.phone.normalize, with its refusals as None like the others."""
    try:
        return normalize(raw)
    except InvalidPhoneNumber:
        return None


def timed(
    function: Callable[[Raw], str | None], inputs: Sequence[Raw]
) -> tuple[float, list[str | None]]:
    """Seconds taken by ``function`` over all inputs, and its results."""
    start = time.perf_counter()
    results = [function(raw) for raw in inputs]
    return time.perf_counter() - start, results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1_000_000, help="number of inputs")
    parser.add_argument("--seed", type=int, default=6563, help="seed of the input generator")
    parser.add_argument(
        "--baseline-n",
        type=int,
        default=None,
        help="time the phonenumbers baselines on the first N inputs only (default: all)",
    )
    args = parser.parse_args(argv)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}; phonenumbers {phonenumbers.__version__}"
    )
    inputs = generate(args.n, args.seed)
    subset = inputs if args.baseline_n is None else inputs[: args.baseline_n]
    print(f"inputs: {len(inputs):,} (seed {args.seed}); baselines timed on {len(subset):,}")

    isobil_seconds, isobil_results = timed(isobil, inputs)
    baseline_seconds, baseline_results = timed(baseline, subset)
    validating_seconds, validating_results = timed(validating, subset)

    mismatches = [
        (raw, expected, actual)
        for raw, expected, actual in zip(subset, validating_results, isobil_results, strict=False)
        if expected != actual
    ]
    assert not mismatches, f"{len(mismatches)} results differ, e.g. {mismatches[:5]}"
    lenient = [
        raw
        for raw, loose, actual in zip(subset, baseline_results, isobil_results, strict=False)
        if actual is not None and loose != actual
    ]
    assert not lenient, f"normalize and the baseline differ on valid numbers, e.g. {lenient[:5]}"
    refused = sum(result is None for result in isobil_results)

    # The fast path is for Turkish mobiles; time both again on just those inputs.
    mobiles = [
        raw
        for raw, result in zip(subset, validating_results, strict=False)
        if result is not None and is_turkish_mobile(result)
    ]
    mobile_isobil_seconds, _ = timed(isobil, mobiles)
    mobile_baseline_seconds, _ = timed(baseline, mobiles)

    rows = (
        ("all inputs", "phonenumbers parse+format", baseline_seconds, len(subset)),
        ("all inputs", "phonenumbers parse+valid+format", validating_seconds, len(subset)),
        ("all inputs", "isobil.phone.normalize", isobil_seconds, len(inputs)),
        ("Turkish mobiles", "phonenumbers parse+format", mobile_baseline_seconds, len(mobiles)),
        ("Turkish mobiles", "isobil.phone.normalize", mobile_isobil_seconds, len(mobiles)),
    )
    print(f"{'inputs':16} {'function':32} {'count':>10} {'numbers/s':>12} {'µs/number':>10}")
    for what, name, seconds, count in rows:
        rate, micros = count / seconds, seconds / count * 1e6
        print(f"{what:16} {name:32} {count:>10,} {rate:>12,.0f} {micros:>10.2f}")
    per_number = isobil_seconds / len(inputs)
    print(
        f"speed-up, all inputs: {baseline_seconds / len(subset) / per_number:.1f}x over "
        f"parse+format, {validating_seconds / len(subset) / per_number:.1f}x over "
        f"parse+valid+format"
    )
    mobile_ratio = mobile_baseline_seconds / mobile_isobil_seconds
    print(f"speed-up, Turkish mobiles: {mobile_ratio:.1f}x over parse+format")
    print(
        f"checked: all {len(subset):,} results equal to parse+valid+format "
        f"({refused:,} of {len(inputs):,} inputs refused as invalid)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
