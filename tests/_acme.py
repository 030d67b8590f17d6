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

#: Where İYS is not wired and consent proof is not the point of a test: registration
#: unknown, proof incomplete and no İYS pull are acknowledged (they are warnings).
IYS_NOT_WIRED = ("TR-CONSENT-003", "TR-CONSENT-004", "TR-CONSENT-006")
