"""The commercial-content classifier on the labelled corpus, and its properties."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _acme import ACME
from isobil.model import Message
from isobil.rules import MessageFacts, RulesConfig, RuleSet, Verdict, classify

CORPUS = Path(__file__).parent / "classifier_corpus"
AS_OF = date(2026, 6, 1)
ENTRIES: list[dict[str, Any]] = [
    e for p in sorted(CORPUS.glob("*.toml")) for e in tomllib.loads(p.read_text("utf-8"))["sms"]
]
REQUIRED = [e for e in ENTRIES if e["legally_required"]]


def test_the_corpus_is_large_varied_and_labelled() -> None:
    """At least 300 distinct texts, both labels, legally required ones never commercial."""
    assert len(ENTRIES) >= 300
    assert len({e["text"] for e in ENTRIES}) == len(ENTRIES)
    assert sum(e["commercial"] for e in ENTRIES) >= 150
    assert len(REQUIRED) >= 60
    assert not any(e["commercial"] and e["legally_required"] for e in ENTRIES)
    assert len({e["sector"] for e in ENTRIES}) >= 10


@pytest.mark.parametrize("entry", REQUIRED, ids=lambda e: e["text"][:50])
def test_no_legally_required_notice_is_refused(entry: dict[str, Any]) -> None:
    """Sent as legally required by a company, no notice of the corpus gets an error."""
    facts = MessageFacts(
        ACME, Message(entry["text"], category="legally_required"), AS_OF, RulesConfig()
    )
    errors = [f.rule_id for f in RuleSet().check_message(facts) if f.severity.value == "error"]
    assert errors == []


def test_precision_and_recall_stay_where_they_were_measured() -> None:
    """A regression guard for benchmarks/RESULTS.md: precision ≥ 0.93, recall ≥ 0.70."""
    verdicts = [(e["commercial"], classify(e["text"], as_of=AS_OF).verdict) for e in ENTRIES]
    tp = sum(c and v is Verdict.COMMERCIAL for c, v in verdicts)
    fp = sum(not c and v is Verdict.COMMERCIAL for c, v in verdicts)
    fn = sum(c and v is not Verdict.COMMERCIAL for c, v in verdicts)
    assert tp / (tp + fp) >= 0.93
    assert tp / (tp + fn) >= 0.70


_TURKISH_TO_ASCII = str.maketrans("çÇğĞıİöÖşŞüÜ", "cCgGiIoOsSuU")


@settings(deadline=None, max_examples=200)
@given(st.sampled_from(ENTRIES), st.randoms(use_true_random=False))
def test_case_and_diacritics_do_not_change_the_verdict(entry: dict[str, Any], rnd: Any) -> None:
    """Upper case, lower case, mixed case and ASCII Turkish read the same."""
    text = entry["text"]
    variants = [
        text.upper(),
        text.translate(_TURKISH_TO_ASCII),
        "".join(c.upper() if rnd.random() < 0.5 else c for c in text),
    ]
    expected = classify(text, as_of=AS_OF)
    for variant in variants:
        got = classify(variant, as_of=AS_OF)
        assert (got.verdict, got.commercial_weight, got.notice_weight) == (
            expected.verdict,
            expected.commercial_weight,
            expected.notice_weight,
        )


@settings(deadline=None, max_examples=200)
@given(
    st.sampled_from(ENTRIES),
    st.sampled_from(["Son ödeme tarihi 15.01.2027.", "Randevunuz yarın 10:00'da."]),
)
def test_a_notice_sentence_never_makes_a_text_more_commercial(
    entry: dict[str, Any], notice: str
) -> None:
    """Adding a debt or appointment sentence can only move a verdict away from commercial."""
    order = [Verdict.INFORMATIONAL, Verdict.AMBIGUOUS, Verdict.COMMERCIAL]
    before = classify(entry["text"], as_of=AS_OF).verdict
    after = classify(f"{entry['text']} {notice}", as_of=AS_OF).verdict
    assert order.index(after) <= order.index(before)
