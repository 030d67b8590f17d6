"""Contacts and groups (rehber): import from Excel and CSV, export, migrate from another provider.

A :class:`ContactBook` over any storage adds, finds and groups contacts by number,
imports million-row sheets with a per-row report, and exports files that import back.
"""

from isobil._meter import Meter
from isobil.contacts._book import ContactBook, Group
from isobil.contacts._export import BLACKLIST_HEADER, export_blacklist, export_contacts
from isobil.contacts._import import (
    DEFAULT_CHUNK_SIZE,
    EXPORT_HEADER,
    GROUP_SEPARATOR,
    PYTHON_TERMS,
    SHELL_TERMS,
    ImportFailed,
    ImportReport,
    Progress,
    Terms,
    import_contacts,
)
from isobil.contacts._migration import (
    MigrationReport,
    import_blacklist,
    import_consent_history,
    parse_consent_date,
)
from isobil.contacts._readers import TableReader, open_table
from isobil.model import RowError

__all__ = [
    "BLACKLIST_HEADER",
    "DEFAULT_CHUNK_SIZE",
    "EXPORT_HEADER",
    "GROUP_SEPARATOR",
    "PYTHON_TERMS",
    "SHELL_TERMS",
    "ContactBook",
    "Group",
    "ImportFailed",
    "ImportReport",
    "Meter",
    "MigrationReport",
    "Progress",
    "RowError",
    "TableReader",
    "Terms",
    "export_blacklist",
    "export_contacts",
    "import_blacklist",
    "import_consent_history",
    "import_contacts",
    "open_table",
    "parse_consent_date",
]
