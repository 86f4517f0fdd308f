"""Helpers of the EDC tests (imported by conftest and the tests)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from pathlib import Path
from typing import Any

PROTOCOL_FILE = Path(__file__).parent / "data" / "edctest2027.yaml"
KEY = b"celltrial-edc-test-key-0123456789"
SITES = [("site1", "Site one"), ("site2", "Site two")]
ARM_STRINGS = {
    "msc",
    "placebo",
    "BM-MSC",
    "Placebo (Plasma-Lyte A)",
    "Bone-marrow MSC",
    "Plasma-Lyte A",
}

#: Each test person's full name (shown wherever the person is named: audit, signatures, queries).
FULL_NAMES = {
    "inv1": "Ines Vidal",
    "coord1": "Carl Ortiz",
    "coord2": "Cora Twain",
    "pharm": "Pia Harmon",
    "mon1": "Moritz Onken",
    "dm": "Dana Meyer",
    "dsmb": "Dov Smbat",
}

ELIGIBLE = {
    "age": 50,
    "pao2_fio2": 150,
    "invasive_ventilation": True,
    "pregnancy": False,
    "malignancy": False,
    "weight": 70,
    "ards_severity": "2",
}
MSC_RELEASE = {
    "viable_cells": 1.5e8,
    "viability": 85,
    "sterility": "negative",
    "endotoxin": 1.2,
    "mycoplasma": "negative",
    "identity": 98.5,
    "purity": 0.6,
}


@dataclasses.dataclass
class TrialSetup:
    admin: Any
    staff: dict[str, Any]  # name -> Staff
    list_bytes: bytes
    commitment: str

    def __getitem__(self, name: str) -> Any:
        return self.staff[name]


def sealed_list(per_stratum: int = 24) -> Any:
    from celltrial.allocation import generate_list, scheme_from_protocol
    from celltrial.protocol import load_protocol

    p = load_protocol(PROTOCOL_FILE)
    return generate_list(
        scheme_from_protocol(p),
        key=KEY,
        protocol=p.id,
        protocol_version=p.version,
        sites=[s for s, _ in SITES],
        per_stratum=per_stratum,
    )


@functools.cache
def _sealed(per_stratum: int) -> tuple[bytes, str]:
    """The sealed list's canonical bytes and commitment, made once per process: the list is a
    function of the protocol, the key and the sites, and every test trial loads the same one."""
    sealed = sealed_list(per_stratum)
    return sealed.canonical(), sealed.commitment()


#: The test protocol with its visits anchored on the first administration (Day 0 tests).
FIRST_DOSE_ANCHOR = (
    "schedule:\n  anchor: randomization",
    "schedule:\n  anchor: first_administration",
)


def make_trial(
    per_stratum: int = 24,
    *,
    replace: tuple[str, str] | list[tuple[str, str]] | None = None,
) -> TrialSetup:
    """The test trial; ``replace`` (old, new), or a list of them, edits the protocol's text
    first."""
    from celltrial.edc import actions

    text = PROTOCOL_FILE.read_text()
    edits = [replace] if isinstance(replace, tuple) else (replace or [])
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    admin = actions.create_trial(text, sites=SITES, admin_username="admin")
    people = {
        "inv1": ("investigator", ["site1"]),
        "coord1": ("coordinator", ["site1"]),
        "coord2": ("coordinator", ["site2"]),
        "pharm": ("pharmacist", ["site1", "site2"]),
        "mon1": ("monitor", ["site1"]),
        "dm": ("data_manager", []),
        "dsmb": ("dsmb", []),
    }
    staff = {"admin": admin}
    for name, (role, sites) in people.items():
        if role in ("pharmacist", "dsmb"):  # unblinded: the operator's bootstrap (issue 16)
            staff[name] = actions.add_staff_as_operator(
                admin.trial, name, role, sites, full_name=FULL_NAMES[name]
            )
        else:
            staff[name] = actions.add_staff(admin, name, role, sites, full_name=FULL_NAMES[name])
    data, commitment = _sealed(per_stratum)
    actions.load_allocation_list(admin, data, commitment=commitment)
    return TrialSetup(admin, staff, data, commitment)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def randomized(
    t: TrialSetup,
    who: str = "coord1",
    site: str = "site1",
    at: dt.datetime | None = None,
    **values: Any,
) -> Any:
    """A participant screened, consented, enrolled and randomized (returns the Participant)."""
    from celltrial.edc import actions

    s = t[who]
    p = actions.screen_participant(s, site, {**ELIGIBLE, **values})
    actions.record_consent(s, p, "2.1", dt.date(2025, 1, 5))
    actions.enroll(s, p)
    actions.randomize_participant(s, p, at=at)
    p.refresh_from_db()
    return p


def released_lot(t: TrialSetup, arm: str, number: str | None = None) -> Any:
    from celltrial.edc import actions

    lot = actions.register_lot(t["pharm"], number or f"LOT-{arm}", arm)
    return actions.release_lot(t["pharm"], lot, MSC_RELEASE if arm == "msc" else {})


def arm_of(p: Any) -> str:
    from celltrial.edc.models import Randomization

    return str(Randomization.objects.select_related("slot").get(participant=p).slot.arm)


def fields(exc: Any) -> set[str]:
    """The fields an ``ActionError`` (a ``pytest.raises`` result) names."""
    return {p.field for p in exc.value.problems}


def message(exc: Any) -> str:
    """The messages of an ``ActionError`` (a ``pytest.raises`` result), joined."""
    return " ".join(p.message for p in exc.value.problems)


class As:
    """A client of the REST API that sends one person's bearer token."""

    def __init__(self, token: str):
        from django.test import Client

        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        import json

        kwargs: dict[str, Any] = {"headers": {**self.headers, **headers}}
        if body is not None:
            kwargs |= {"data": json.dumps(body), "content_type": "application/json"}
        return getattr(self.client, method)(f"/api{path}", **kwargs)
