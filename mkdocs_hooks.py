"""MkDocs hooks for the isobil documentation site (named in mkdocs.yml).

The guides and the docstrings carry doctests as bare ``>>>`` lines, which is what
pytest's ``--doctest-glob=*.md`` and ``--doctest-modules`` run. Markdown would render
them as running text (and read ``[('a', 1)]`` in an output line as a link); this adds a
Markdown preprocessor that wraps each such example in a ``pycon`` fenced block, on the
guide pages and in the docstrings mkdocstrings renders alike.

The docstrings also cross-reference in Sphinx's roles (``:class:`~isobil.Client```);
the same preprocessor turns each into an optional autorefs link: a link to the reference
entry where the target is documented on the site, plain code where it is not (a private
module, a relative name), never a warning.
"""

from __future__ import annotations

import re
from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor
from mkdocs.plugins import event_priority

_FENCE = re.compile(r"^\s*(```|~~~)")
_PROMPT = re.compile(r"^( {0,3})>>>( |$)")
_ROLE = re.compile(r":(?:class|meth|func|attr|data|mod|exc|obj|const):`(?P<body>[^`]+)`")
_EXPLICIT = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$")


def _role(match: re.Match[str]) -> str:
    """``:class:`~isobil.Client``` → an optional autorefs link titled ``Client``."""
    body = match.group("body").strip()
    explicit = _EXPLICIT.match(body)
    if explicit:
        title, target = explicit.group("title"), explicit.group("target").lstrip("~!.")
    else:
        target = body.lstrip("~!.")
        title = target.rsplit(".", 1)[-1] if body.startswith("~") else target
    if title.endswith("()"):
        title = title[:-2]
    target = target.removesuffix("()")
    title = title.replace("&", "&amp;").replace("<", "&lt;")
    return f'<autoref identifier="{target}" optional><code>{title}</code></autoref>'


class _DoctestFences(Preprocessor):
    """Wraps a run of doctest lines (a ``>>>`` line up to the next blank line) in a fence."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fence: str | None = None
        i = 0
        while i < len(lines):
            line = lines[i]
            opened = _FENCE.match(line)
            if fence is not None:
                if opened and opened.group(1) == fence:
                    fence = None
                out.append(line)
                i += 1
                continue
            if opened:
                fence = opened.group(1)
                out.append(line)
                i += 1
                continue
            prompt = _PROMPT.match(line)
            if prompt is None:
                out.append(_ROLE.sub(_role, line))
                i += 1
                continue
            indent = prompt.group(1)
            if out and out[-1].strip():
                out.append("")
            out.append(f"{indent}```pycon")
            while i < len(lines) and lines[i].strip():
                out.append(lines[i])
                i += 1
            out.append(f"{indent}```")
            out.append("")
        return out


class DoctestFencesExtension(Extension):
    """The Markdown extension registering :class:`_DoctestFences`."""

    def extendMarkdown(self, md: Markdown) -> None:
        # Before fenced_code (25), which then reads the fences added here.
        md.preprocessors.register(_DoctestFences(md), "isobil_doctest_fences", 27)


@event_priority(100)  # before mkdocstrings reads the extensions for the docstrings
def on_config(config: Any) -> Any:
    config.markdown_extensions.append(DoctestFencesExtension())
    return config
