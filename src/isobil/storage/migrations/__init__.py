"""Alembic migrations of the SQL storage schema, shipped with the package.

isobil runs them itself (``SQLStorage(url, auto_upgrade=True)``,
``isobil.storage._sql.upgrade(url)`` or ``isobil db upgrade``); no
``alembic.ini`` is needed.
"""
