"""`campaign_html`: a campaign's delivery report as one self-contained, escaped HTML page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from types import MappingProxyType

from isobil.campaigns import DeliverySummary, campaign_html
from isobil.storage import MessageState

VOID = {"meta", "br", "img", "input", "link", "hr"}
SVG = "{http://www.w3.org/2000/svg}"


class _Balance(HTMLParser):
    """Checks that every element is closed in order; collects the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _summary(reason: str = "absent subscriber (phone off or out of coverage)") -> DeliverySummary:
    return DeliverySummary(
        "c-1",
        MappingProxyType(
            {MessageState.DELIVERED: 1234, MessageState.UNDELIVERED: 56, MessageState.SUBMITTED: 7}
        ),
        MappingProxyType({reason: 56}),
        MappingProxyType({"2026-11-30 10:00": 1000, "2026-11-30 11:00": 290}),
    )


def _parse(page: str) -> _Balance:
    parser = _Balance()
    parser.feed(page)
    parser.close()
    return parser


def test_page_is_well_formed_and_has_the_numbers() -> None:
    """Every element closes in order; totals, per-state and per-hour counts are on the page."""
    page = campaign_html(_summary(), title="Kasım kampanyası")
    parsed = _parse(page)
    assert parsed.problems == []
    assert parsed.open == []
    text = " ".join(parsed.text)
    assert "Kasım kampanyası" in text
    assert "1297 message(s)" in text
    assert "7 without a final answer" in text
    for number in ("1234", "56", "1000", "290"):
        assert number in text
    assert "delivered" in text
    assert "absent subscriber" in text
    assert {"table", "svg", "style", "title"} <= parsed.tags


def test_svg_chart_parses_as_xml_with_one_bar_per_hour() -> None:
    """The inline chart is valid SVG: one bar per hour, the tallest bar for the busiest hour."""
    page = campaign_html(_summary())
    found = re.search(r"<svg.*?</svg>", page, re.DOTALL)
    assert found is not None
    svg = ET.fromstring(found.group(0))  # noqa: S314 - our own page, not untrusted input
    bars = svg.findall(f"{SVG}rect")
    assert len(bars) == 2
    heights = [int(b.attrib["height"]) for b in bars]
    assert heights[0] > heights[1] > 0
    labels = [t.text for t in svg.findall(f"{SVG}text")]
    assert "2026-11-30 10:00" in labels
    assert "1000" in labels


def test_malicious_reason_and_title_are_escaped() -> None:
    """A failure reason or title carrying markup is shown as text, never run as markup."""
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    page = campaign_html(_summary(reason=evil), title=f"A & B {evil}")
    assert "<script>" not in page
    assert "<img" not in page
    assert "&lt;script&gt;" in page
    assert "A &amp; B" in page
    parsed = _parse(page)
    assert parsed.problems == []
    assert evil in "".join(parsed.text)


def test_page_is_self_contained() -> None:
    """No external resources: no src, href, url() or @import anywhere on the page."""
    page = campaign_html(_summary())
    for needle in ("src=", "href=", "url(", "@import", "<script", "<link"):
        assert needle not in page


def test_empty_campaign_has_no_chart_but_a_page() -> None:
    """A campaign with nothing settled yet says so instead of drawing an empty chart."""
    empty = DeliverySummary(
        "c-0",
        MappingProxyType({MessageState.QUEUED: 3}),
        MappingProxyType({}),
        MappingProxyType({}),
    )
    page = campaign_html(empty)
    parsed = _parse(page)
    assert parsed.problems == []
    assert "<svg" not in page
    assert "No message has a final state yet." in page
    assert "Campaign c-0" in page
