"""How well isobil tells commercial SMS from notices, on a labelled corpus.

Reads tests/classifier_corpus/*.toml (Turkish SMS labelled by the law: commercial or
not, and whether the sender had to send it by law) and prints, per file and in all,
precision and recall of the verdict "commercial", how many texts were left to a
person (ambiguous), and how many legally required notices would be refused. The
baseline, run on the same texts, is what a team writes by hand: a list of
promotion words plus "any percentage" (isobil's own rule before its classifier).

    PYTHONPATH=src .venv/bin/python benchmarks/classifier_corpus.py
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from datetime import date
from pathlib import Path

from isobil._text import fold
from isobil.rules import Verdict, classify

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "classifier_corpus"
AS_OF = date(2026, 6, 1)
#: The baseline: promotion words and "a percentage means a promotion".
WORDS = (
    "indirim",
    "indirimli",
    "kampanya",
    "kampanyasi",
    "hediye",
    "yarisma",
    "cekilis",
    "firsat",
    "firsati",
    "kupon",
    "bedava",
    "puan",
    "promosyon",
    "sezon",
    "outlet",
    "kazan",
    "kazanin",
    "ucretsiz kargo",
    "ozel fiyat",
    "son gun",
)
PERCENT = re.compile(r"%\s?\d|\d\s?%")


def baseline(text: str) -> Verdict:
    folded = f" {fold(text)} "
    hit = PERCENT.search(text) or any(f" {w} " in folded for w in WORDS)
    return Verdict.COMMERCIAL if hit else Verdict.INFORMATIONAL


def isobil_verdict(text: str) -> Verdict:
    return classify(text, as_of=AS_OF).verdict


def score(entries: list[dict[str, object]], judge: Callable[[str], Verdict]) -> dict[str, float]:
    tp = fp = fn = ambiguous = refused_required = 0
    for entry in entries:
        verdict = judge(str(entry["text"]))
        commercial = bool(entry["commercial"])
        if verdict is Verdict.AMBIGUOUS:
            ambiguous += 1
        if verdict is Verdict.COMMERCIAL:
            tp += commercial
            fp += not commercial
            refused_required += bool(entry["legally_required"])
        elif commercial:
            fn += 1
    return {
        "texts": len(entries),
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "ambiguous": ambiguous,
        "false_refusals": fp,
        "required_refused": refused_required,
    }


def main() -> None:
    files = {
        p.stem: tomllib.loads(p.read_text("utf-8"))["sms"] for p in sorted(CORPUS.glob("*.toml"))
    }
    files["all"] = [e for entries in files.values() for e in entries]
    print(
        f"{'corpus':8} {'judge':9} {'texts':>5} {'precision':>9} {'recall':>6} "
        f"{'ambiguous':>9} {'false refusals':>14} {'legally required refused':>24}"
    )
    for name, entries in files.items():
        rows = {"isobil": score(entries, isobil_verdict), "baseline": score(entries, baseline)}
        for judge, row in rows.items():
            print(
                f"{name:8} {judge:9} {row['texts']:5} {row['precision']:9.3f} {row['recall']:6.3f} "
                f"{row['ambiguous']:9} {row['false_refusals']:14} {row['required_refused']:24}"
            )
        ours, theirs = rows["isobil"], rows["baseline"]
        print(
            f"{'':8} ratio: false refusals {ours['false_refusals']}/{theirs['false_refusals']}, "
            f"recall {ours['recall'] / theirs['recall']:.2f}x the baseline"
        )


if __name__ == "__main__":
    main()
