"""The sender most tests send as: Acme, brand ACME, short number 4605."""

from __future__ import annotations

from isobil import Brand, Sender

#: A sender with a complete identity (MERSİS, contact) and one brand.
ACME = Sender(
    name="Acme Ticaret A.Ş.",
    mersis="0123456789012345",
    contact="0850 123 45 67",
    brands=[Brand("ACME")],
    short_number="4605",
)
