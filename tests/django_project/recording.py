"""A fake transport that writes down what it accepted, for tests across processes."""

from __future__ import annotations

import os
from collections.abc import Sequence

from isobil.transport import FakeTransport, OutboundSms, SubmitResult

#: The environment variable naming the file every accepted message id is appended to.
LOG_ENV = "ISOBIL_TEST_SENT_LOG"


class RecordingTransport(FakeTransport):
    """Appends ``<pid> <message id>`` per accepted message to the file ``$ISOBIL_TEST_SENT_LOG``
    (one ``O_APPEND`` write per batch, so workers' lines never interleave)."""

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        results = super().submit(batch)
        lines = "".join(f"{os.getpid()} {r.id}\n" for r in results if r.provider_id)
        fd = os.open(os.environ[LOG_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, lines.encode("ascii"))
        finally:
            os.close(fd)
        return results
