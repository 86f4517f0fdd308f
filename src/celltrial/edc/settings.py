"""Django settings of the celltrial EDC.

The database is a SQLite file by default (``CELLTRIAL_EDC_DB``, default
``celltrial-edc.sqlite3`` in the working directory) in WAL mode with IMMEDIATE transactions,
so writers are serialised and readers never block. ``DATABASE_URL=postgresql://user:pw@host:port/db``
switches to PostgreSQL (psycopg 3).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import secrets
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent

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
# bearer tokens and its views are CSRF-exempt: a call with a bearer token skips Django's
# session, CSRF and authentication middleware (celltrial.edc.guard.token_call), which have
# nothing to do for it. X-Frame-Options: DENY is on every answer, the API's included.
MIDDLEWARE = [
    # Request ids, NUL/surrogate refusal in URLs, logged JSON 500s on the API (issue 16).
    "celltrial.edc.guard.RequestGuard",
    "django.middleware.security.SecurityMiddleware",
    "celltrial.edc.middleware.PageSessions",
    "django.middleware.common.CommonMiddleware",
    "celltrial.edc.middleware.PageCsrf",
    "celltrial.edc.middleware.PageAuthentication",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
SESSION_COOKIE_SECURE = os.environ.get("CELLTRIAL_SECURE_COOKIES", "") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
#: Django's password validators (issue 16): length, the 20,000 most common passwords, not
#: only digits, not like the username; and celltrial's own (5 different characters at least).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "celltrial.edc.guard.VarietyValidator"},
]
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
                "celltrial.edc.web.views.time_zone",
            ],
            "builtins": ["celltrial.edc.templatetags.edc_labels"],
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


def private_dir(path: Path) -> Path:
    """``path`` as a folder only this user can enter: created with mode 0700, refused when it
    exists and is a link, not ours, or open to others (issue 16: a folder anyone can guess and
    create first must not be trusted)."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise ImproperlyConfigured(
            f"{path}: the EDC's private folder must be a folder owned by this user (uid "
            f"{os.getuid()}) with mode 0700; it is not (someone else made it, or opened it)"
        )
    return path


def state_dir(environ: os._Environ[str] | dict[str, str] = os.environ) -> Path:
    """The installation's private folder: its secret key, the audit chain's anchor and the
    cache. ``CELLTRIAL_STATE_DIR``; else ``<SQLite file>.state`` beside the database; else (on
    PostgreSQL) ``~/.local/state/celltrial-edc/<host-db>``; under pytest a new one per run."""
    if environ.get("CELLTRIAL_STATE_DIR"):
        return private_dir(Path(environ["CELLTRIAL_STATE_DIR"]))
    if "PYTEST_VERSION" in environ:
        made = Path(tempfile.mkdtemp(prefix="celltrial-edc-test-state-"))  # 0700, new
        creator = os.getpid()

        def remove() -> None:  # by the process that made it (not a forked worker)
            if os.getpid() == creator:
                shutil.rmtree(made, ignore_errors=True)

        atexit.register(remove)
        return made
    db = DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return private_dir(
            Path(str(db["NAME"])).resolve().with_name(Path(db["NAME"]).name + ".state")
        )
    name = hashlib.sha256(f"{db.get('HOST', '')}:{db.get('PORT', '')}/{db['NAME']}".encode())
    return private_dir(Path.home() / ".local" / "state" / "celltrial-edc" / name.hexdigest()[:16])


STATE_DIR = state_dir()


def _secret_key(folder: Path) -> str:
    """``CELLTRIAL_SECRET_KEY``, else the installation's own key: generated once (256 bits) in
    the private folder with mode 0600 and read from there after (never a fixed default)."""
    given = os.environ.get("CELLTRIAL_SECRET_KEY", "")
    if given:
        return given
    path = folder / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text().strip()


SECRET_KEY = _secret_key(STATE_DIR)

#: The audit chain's anchor outside the database: after each commit of audit rows, the head
#: (sequence number, hash) signed with an HMAC is written here; ``audit verify`` checks the
#: table still holds that row, so cutting rows from the end (or emptying the table) shows.
#: Off under pytest unless set (each test's database is rolled back or emptied).
AUDIT_ANCHOR = os.environ.get(
    "CELLTRIAL_AUDIT_ANCHOR",
    "" if "PYTEST_VERSION" in os.environ else str(STATE_DIR / "audit-head.json"),
)

# The cache (the DSMB report) lives in the private folder: Django's file cache unpickles its
# files, so it must never read a folder another user could write.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(
            private_dir(Path(os.environ["CELLTRIAL_CACHE_DIR"]))
            if os.environ.get("CELLTRIAL_CACHE_DIR")
            else STATE_DIR / "cache"
        ),
    }
}
