"""The shop's tests: with the pytest plugin's fake transport, and a loopback provider."""
