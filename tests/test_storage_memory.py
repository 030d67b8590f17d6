"""MemoryStorage runs the shared storage contract."""

from __future__ import annotations

import pytest

from isobil.storage import MemoryStorage
from isobil.testing.storage import StorageContract


class TestMemoryStorage(StorageContract):
    """The in-memory backend keeps the whole contract."""

    @pytest.fixture
    def storage(self) -> MemoryStorage:
        return MemoryStorage()
