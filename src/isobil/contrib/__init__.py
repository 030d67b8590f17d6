"""Integrations with web and task frameworks, one module each (``isobil.contrib.celery``, …).

Each is installed with its extra (``pip install isobil[celery]``) and imports its
framework itself: ``import isobil`` never imports one.
"""
