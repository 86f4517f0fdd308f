"""Django settings of the celltrial EDC.

The database is a SQLite file by default (``CELLTRIAL_EDC_DB``, default
``celltrial-edc.sqlite3`` in the working directory) in WAL mode with IMMEDIATE transactions,
so writers are serialised and readers never block. ``DATABASE_URL=postgresql://user:pw@host:port/db``
switches to PostgreSQL (psycopg 3).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("CELLTRIAL_SECRET_KEY", "celltrial-edc-development-key-change-me")
DEBUG = os.environ.get("CELLTRIAL_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("CELLTRIAL_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(
    ","
)

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "ninja",
    "celltrial.edc.apps.EdcConfig",
]
# Sessions, CSRF and login for the web pages (celltrial.edc.web); the API authenticates with
# bearer tokens and its views are CSRF-exempt.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
SESSION_COOKIE_SECURE = os.environ.get("CELLTRIAL_SECURE_COOKIES", "") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"
ROOT_URLCONF = "celltrial.edc.urls"
WSGI_APPLICATION = "celltrial.edc.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]
STATIC_URL = "static/"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
USE_I18N = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Passwords are stored with Django's default hashers (PBKDF2-SHA256 first, on purpose slow).
# The test suite alone swaps in a fast one: celltrial.edc.settings_for_tests.
APPEND_SLASH = False

SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON",
}

#: Seconds a server thread keeps its database connection (0: one per request).
CONN_MAX_AGE = int(os.environ.get("CELLTRIAL_CONN_MAX_AGE", "60"))
#: Whether a kept PostgreSQL connection is tested (one more round trip) before each request.
#: Off by default: after a database restart, the first request on each kept connection fails
#: (500, the transaction rolled back; a client retries it with its idempotency key) and the
#: connection is replaced. ``CELLTRIAL_CONN_HEALTH_CHECKS=1`` turns the test on.
CONN_HEALTH_CHECKS = os.environ.get("CELLTRIAL_CONN_HEALTH_CHECKS", "") == "1"


def database_from_env(environ: os._Environ[str] | dict[str, str] = os.environ) -> dict[str, Any]:
    """The ``default`` database from ``DATABASE_URL`` (PostgreSQL or sqlite) or the SQLite file."""
    url = environ.get("DATABASE_URL", "")
    test_sqlite = str(Path(tempfile.gettempdir()) / f"celltrial-edc-test-{os.getpid()}.sqlite3")
    if url:
        parts = urlsplit(url)
        if parts.scheme in ("postgres", "postgresql"):
            return {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": unquote(parts.path.lstrip("/")) or "celltrial",
                "USER": unquote(parts.username or ""),
                "PASSWORD": unquote(parts.password or ""),
                "HOST": parts.hostname or "",
                "PORT": str(parts.port or ""),
                "CONN_MAX_AGE": CONN_MAX_AGE,
                "CONN_HEALTH_CHECKS": CONN_HEALTH_CHECKS,
            }
        if parts.scheme == "sqlite":
            name = unquote(parts.path) or "celltrial-edc.sqlite3"
            return {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": name,
                "OPTIONS": dict(SQLITE_OPTIONS),
                "TEST": {"NAME": test_sqlite},
            }
        raise ImproperlyConfigured(
            f"DATABASE_URL: scheme {parts.scheme!r} is not supported; use postgresql:// or sqlite://"
        )
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": environ.get("CELLTRIAL_EDC_DB", "celltrial-edc.sqlite3"),
        "OPTIONS": dict(SQLITE_OPTIONS),
        "CONN_MAX_AGE": CONN_MAX_AGE,
        # Tests use a file, not :memory:, so that threads with their own connections share it.
        "TEST": {"NAME": test_sqlite},
    }


DATABASES = {"default": database_from_env()}

# The cache holds the web login throttle (failed logins per username). Files, so that the
# worker processes of one server share it; one folder per database.
# Under pytest (which sets PYTEST_VERSION) each process has its own folder: the tests use a
# test database, not the configured one, and two runs at once must not share throttle counts.
_CACHE_KEY = hashlib.sha256(
    str(DATABASES["default"].get("HOST", "")).encode()
    + str(Path(str(DATABASES["default"]["NAME"])).resolve()).encode()
    + (f"pytest-{os.getpid()}".encode() if "PYTEST_VERSION" in os.environ else b"")
).hexdigest()[:16]
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get(
            "CELLTRIAL_CACHE_DIR",
            str(Path(tempfile.gettempdir()) / f"celltrial-edc-cache-{_CACHE_KEY}"),
        ),
    }
}
