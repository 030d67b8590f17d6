"""Loopback simulators of Turkish SMS providers' HTTP APIs, and their contract suite.

Each simulator is a real HTTP server on 127.0.0.1 that speaks one provider's
documented API — requests, answers, error codes, callbacks or report queries —
so that an adapter, and your own application's tests, run against it instead
of the provider.
"""

from isobil.testing.providers._base import ProviderSimulator, SimAnswer, SimRequest, SimulatedSms

__all__ = ["ProviderSimulator", "SimAnswer", "SimRequest", "SimulatedSms"]
