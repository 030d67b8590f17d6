"""The pytest plugin, used the way an application's test suite would use it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text("utf-8"), flags=re.S)


@pytest.mark.parametrize("doc", ["README.md", "docs/testing.md"])
def test_documented_user_test_passes(pytester: pytest.Pytester, doc: str) -> None:
    """The test shown to users in the docs passes with only the plugin (no conftest)."""
    [example] = [b for b in _python_blocks(ROOT / doc) if "def test_" in b]
    pytester.makepyfile(example)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_user_suite_with_only_the_plugin(pytester: pytest.Pytester) -> None:
    """Fixtures work together: send, deliver a report, read the state back."""
    pytester.makepyfile(
        """
        import isobil

        def test_order_shipped_sms(isobil_client, isobil_fake):
            notice = isobil.Message("Siparişiniz kargoya verildi.", category="informational")
            result = isobil_client.send(notice, to=["0532 123 45 67"])
            assert [s.to for s in isobil_fake.sent] == ["+905321234567"]
            assert isobil_fake.sent[0].text == "Siparişiniz kargoya verildi."
            isobil_fake.deliver(isobil_fake.sent[0].message_id, "delivered")
            record = isobil_client.message(result.outcomes[0].message_id)
            assert record.state.value == "delivered"

        def test_sender_fixture_is_complete(isobil_sender):
            assert isobil_sender.originator == "TEST"
            assert isobil_sender.mersis
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_user_can_override_the_sender(pytester: pytest.Pytester) -> None:
    """Overriding `isobil_sender` in a conftest changes what the client sends as."""
    pytester.makeconftest(
        """
        import pytest
        import isobil

        @pytest.fixture
        def isobil_sender():
            return isobil.Sender(name="Zeta Ltd.", originator="ZETA")
        """
    )
    pytester.makepyfile(
        """
        import isobil

        def test_originator(isobil_client, isobil_fake):
            isobil_client.send(isobil.Message("x", category="informational"), to="05321234567")
            assert isobil_fake.sent[0].originator == "ZETA"
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
