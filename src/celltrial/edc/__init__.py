"""celltrial.edc: the Django application that runs a trial.

Every write is an action in :mod:`celltrial.edc.actions`; the audit trail is in
:mod:`celltrial.edc.audit`; the REST API in :mod:`celltrial.edc.api`; the dataset export in
:mod:`celltrial.edc.export`. See ``docs/edc.md``.
"""

from __future__ import annotations

import os


def setup(db: str | None = None) -> None:
    """Configure Django for the EDC outside a server (command line, scripts).

    ``db`` is a SQLite file (ignored when ``DATABASE_URL`` is set).
    """
    if db is not None:
        os.environ["CELLTRIAL_EDC_DB"] = str(db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celltrial.edc.settings")
    import django

    django.setup()
