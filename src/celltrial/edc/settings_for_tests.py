"""Settings of the test suite: the EDC's settings with a fast password hasher.

Django's default hasher (PBKDF2, 1,000,000 iterations) takes about 0.3 s a password on
purpose; the tests set a password for every person of every test trial, so most of the web
tests' time went there. Under the tests only, the MD5 hasher is used, as Saleor's test
settings do (``saleor/tests/settings.py``). ``pyproject.toml`` names this module for
pytest-django; a server or command never reads it (they use :mod:`celltrial.edc.settings`),
and no test checks the strength of a stored hash.
"""

from __future__ import annotations

from celltrial.edc.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
