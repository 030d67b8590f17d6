"""A campaign's delivery report as one self-contained HTML page (F22).

Inline CSS, an inline SVG bar chart of the messages settled per hour, and
tables of the counts per state and per failure reason. Nothing is fetched from
elsewhere, and every piece of text is escaped, so the page can be mailed,
archived or opened offline, whatever an operator put in a failure reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from isobil.campaigns._reports import DeliverySummary

__all__ = ["campaign_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#222}
h1{font-size:1.4rem;margin-bottom:.2rem}
p.meta{color:#666;margin-top:0}
table{border-collapse:collapse;margin:1rem 0;min-width:20rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
svg{max-width:100%;height:auto}
svg .bar{fill:#3a6ea5}
svg text{font-size:11px;fill:#333}
""".strip()

_BAR_WIDTH = 28
_GAP = 8
_CHART_HEIGHT = 160
_MARGIN_TOP = 20
_MARGIN_BOTTOM = 70


def _chart(by_hour: dict[str, int]) -> str:
    """An SVG bar chart: one bar per hour, oldest first, labelled with its count."""
    if not by_hour:
        return "<p>No message has a final state yet.</p>"
    hours = sorted(by_hour)
    peak = max(by_hour.values()) or 1
    width = len(hours) * (_BAR_WIDTH + _GAP) + _GAP
    height = _MARGIN_TOP + _CHART_HEIGHT + _MARGIN_BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        "<title>Messages settled per hour (Istanbul time)</title>",
    ]
    baseline = _MARGIN_TOP + _CHART_HEIGHT
    for i, hour in enumerate(hours):
        count = by_hour[hour]
        bar = round(_CHART_HEIGHT * count / peak)
        x = _GAP + i * (_BAR_WIDTH + _GAP)
        middle = x + _BAR_WIDTH // 2
        label = escape(hour)
        parts.append(
            f'<rect class="bar" x="{x}" y="{baseline - bar}" width="{_BAR_WIDTH}" '
            f'height="{bar}"><title>{label}: {count}</title></rect>'
        )
        parts.append(
            f'<text x="{middle}" y="{baseline - bar - 4}" text-anchor="middle">{count}</text>'
        )
        parts.append(
            f'<text x="{middle}" y="{baseline + 12}" text-anchor="end" '
            f'transform="rotate(-60 {middle} {baseline + 12})">{label}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _table(caption: str, heading: str, rows: Iterable[tuple[str, int]]) -> str:
    body = "".join(
        f'<tr><td>{escape(key)}</td><td class="n">{count}</td></tr>' for key, count in rows
    )
    if not body:
        body = '<tr><td colspan="2">none</td></tr>'
    return (
        f"<table><caption>{escape(caption)}</caption>"
        f"<thead><tr><th>{escape(heading)}</th><th>messages</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def campaign_html(summary: DeliverySummary, *, title: str | None = None) -> str:
    """The delivery report of a campaign as a self-contained HTML page.

    ``title`` heads the page (default: ``Campaign <id>``). The page holds the
    total, a bar chart of the messages settled per hour (``summary.by_hour``),
    and the counts per state and per failure reason. All text is escaped.
    """
    heading = title if title is not None else f"Campaign {summary.campaign_id}"
    states = [(s.value, n) for s, n in sorted(summary.counts.items())]
    reasons = sorted(summary.by_reason.items(), key=lambda item: (-item[1], item[0]))
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(heading)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            f"<h1>{escape(heading)}</h1>",
            f'<p class="meta">campaign {escape(summary.campaign_id)}: '
            f"{summary.total} message(s), {summary.pending} without a final answer</p>",
            "<h2>Settled per hour</h2>",
            _chart(dict(summary.by_hour)),
            "<h2>Counts</h2>",
            _table("Messages per state", "state", states),
            _table("Failures per reason", "reason", reasons),
            "</body>",
            "</html>",
            "",
        ]
    )
