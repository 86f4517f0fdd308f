"""Trial, protocol versions, sites, staff with roles, API tokens, idempotency keys."""

from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from celltrial.protocol import Protocol


#: Seconds a Trial instance remembers its active protocol version.
ACTIVE_PROTOCOL_SECONDS = 5.0


class Trial(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    title = models.TextField()
    blinding = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.code

    def active_protocol(self) -> ProtocolVersion:
        """The active protocol version (its YAML text deferred). Remembered on this instance
        for :data:`ACTIVE_PROTOCOL_SECONDS`: the API's cached actors share their trial, so a
        request does not ask the database again (a newly activated version is seen within
        that time)."""
        memo: tuple[ProtocolVersion, float] | None = self.__dict__.get("_active_protocol")
        clock = time.monotonic()
        if memo is not None and clock - memo[1] < ACTIVE_PROTOCOL_SECONDS:
            return memo[0]
        pv = self.protocol_versions.filter(active=True).defer("yaml_text").latest("loaded_at")
        self.__dict__["_active_protocol"] = (pv, clock)
        return pv

    @property
    def is_open_label(self) -> bool:
        return self.blinding == "open"


class ProtocolVersion(models.Model):
    """A protocol as loaded: its YAML text and the SHA-256 of that text."""

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="protocol_versions")
    version = models.CharField(max_length=40)
    yaml_text = models.TextField()
    sha256 = models.CharField(max_length=64)
    loaded_at = models.DateTimeField()
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [  # noqa: RUF012
            models.UniqueConstraint(fields=["trial", "sha256"], name="protocol_text_once")
        ]

    @cached_property
    def protocol(self) -> Protocol:
        # The text is deferred by Trial.active_protocol(): only load it when this process has
        # not parsed that text yet (the SHA-256 names the text).
        cached = _PARSED.get(self.sha256)
        return cached if cached is not None else _parse(self.sha256, self.yaml_text)


_PARSED: dict[str, Protocol] = {}


def _parse(sha: str, text: str) -> Protocol:
    """Parsed protocols, cached by the SHA-256 of their text (the text never changes)."""
    if sha not in _PARSED:
        from celltrial.protocol import parse_protocol

        _PARSED[sha] = parse_protocol(text)
    return _PARSED[sha]


class Site(models.Model):
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="sites")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    #: The site's IANA time zone: forms read typed times in it, pages show times in it (the
    #: database stores UTC). Checked by :func:`celltrial.edc.labels.check_time_zone`.
    time_zone = models.CharField(max_length=64, default="UTC", db_default="UTC")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trial", "code"], name="site_code_once")]  # noqa: RUF012

    def __str__(self) -> str:
        return self.code


class Role(models.TextChoices):
    INVESTIGATOR = "investigator", "Investigator"
    COORDINATOR = "coordinator", "Study coordinator"
    PHARMACIST = "pharmacist", "Unblinded pharmacist"
    MONITOR = "monitor", "Monitor"
    DATA_MANAGER = "data_manager", "Data manager"
    DSMB = "dsmb", "DSMB statistician"
    ADMIN = "admin", "Administrator"


class Staff(models.Model):
    """A person's role in one trial and the sites they work at."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff"
    )
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="staff")
    role = models.CharField(max_length=20, choices=Role.choices)
    sites = models.ManyToManyField(Site, blank=True, related_name="staff")
    all_sites = models.BooleanField(default=False)
    #: The person's full name, shown wherever they are named (audit trail, signatures, queries);
    #: required for everyone an admin adds (21 CFR 11.50: the signer's printed name).
    full_name = models.CharField(max_length=150, blank=True, default="", db_default="")
    #: Set when someone else chose the password (an admin, a DSMB approver, the operator's
    #: command line): the web sends the person to change it before anything else, and the
    #: e-signature refuses that password (docs/edc.md, "Accounts and passwords").
    must_change_password = models.BooleanField(default=False, db_default=False)
    #: The first password, on the instance that ``approve_access`` returns only (never stored).
    initial_password: str | None = None

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.role})"

    @property
    def username(self) -> str:
        return str(self.user.get_username())

    @property
    def display_name(self) -> str:
        """``Full Name (username)``, or the username alone when no full name is stored."""
        name, user = self.full_name, self.username
        return f"{name} ({user})" if name and name != user else user


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    revoked = models.BooleanField(default=False)
    #: The clear token, on the instance that issued it only (only ``digest`` is stored).
    raw: str | None = None


class IdempotencyKey(models.Model):
    """The first result of an action called with a client's idempotency key."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE)
    key = models.CharField(max_length=100)
    action = models.CharField(max_length=60)
    table = models.CharField(max_length=60)
    record_id = models.BigIntegerField()
    created_at = models.DateTimeField()
    #: SHA-256 of what the first request acted on: the same key for another one is a 422.
    request = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["staff", "key"], name="idempotency_once")]  # noqa: RUF012
