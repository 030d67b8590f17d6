"""The documentation site builds without a warning (``mkdocs build --strict``, as CI
runs it) and its API reference lists every public name of the documented modules."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

MODULES = (
    "isobil",
    "isobil.transport",
    "isobil.storage",
    "isobil.consent",
    "isobil.contacts",
    "isobil.campaigns",
    "isobil.rules",
)

_ROLE = re.compile(r":(?:class|meth|func|attr|data|mod|exc|obj):")


class _Page(HTMLParser):
    """The ``id`` attributes of a built page, and its text outside code (``<pre>``,
    ``<code>``)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.prose: list[str] = []
        self._code = 0
        self._quotes = 0
        self.nested_quotes = 0  # ``>>>`` read as Markdown: a blockquote in a blockquote

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("pre", "code"):
            self._code += 1
        if tag == "blockquote":
            self._quotes += 1
            self.nested_quotes += self._quotes > 1
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("pre", "code"):
            self._code -= 1
        if tag == "blockquote":
            self._quotes -= 1

    def handle_data(self, data: str) -> None:
        if not self._code:
            self.prose.append(data)


def _read(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once for this module into a temporary directory."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,  # a hang guard: the child is killed, the test fails
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{log}"
    assert "WARNING" not in log, log
    return out


@pytest.mark.parametrize("module", MODULES)
def test_reference_lists_every_public_name(site: Path, module: str) -> None:
    """Each name of the module's ``__all__`` has its entry (an anchor
    ``<module>.<name>``) on the module's reference page."""
    page = _read(site / "reference" / module / "index.html")
    names: list[str] = list(importlib.import_module(module).__all__)
    assert names, module
    missing = [name for name in names if f"{module}.{name}" not in page.ids]
    assert missing == [], f"reference/{module}.md lacks {missing}"


def test_no_raw_markup_in_pages(site: Path) -> None:
    """Every doctest is rendered as a code block and no Sphinx role is left as text,
    on the guides and the reference pages alike."""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > len(MODULES)
    for path in pages:
        page = _read(path)
        prose = "".join(page.prose)
        where = path.relative_to(site)
        assert ">>>" not in prose, f"{where}: a doctest outside a code block"
        assert page.nested_quotes == 0, f"{where}: a doctest read as nested blockquotes"
        assert _ROLE.search(prose) is None, f"{where}: a Sphinx role left as text"


def test_reference_resolves_cross_references(site: Path) -> None:
    """``:class:`~isobil.Client``` in a docstring becomes a link to ``Client``'s entry."""
    html = (site / "reference" / "isobil.transport" / "index.html").read_text("utf-8")
    assert 'href="../isobil/#isobil.Client"' in html
