"""Test support shipped with isobil: the pytest plugin and shared contract suites.

The plugin is registered as a ``pytest11`` entry point, so installing isobil
gives every test suite the ``isobil_fake`` and ``isobil_client`` fixtures.
"""
