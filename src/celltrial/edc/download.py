"""The dataset downloaded from the web or the API, as one zip file, checked by role.

Who gets what (``docs/edc.md``, "Downloading the dataset"):

- The **data manager** and the **DSMB** statistician download; other roles are refused (403).
- A role that sees arms (the DSMB; anyone in an open-label trial) gets the dataset as the
  ``celltrial edc export`` command writes it (CSV, one file per table), or as SDTM (XPT v5 or
  Dataset-JSON 1.1, with ``define.xml``) and ADaM written by :mod:`celltrial.cdisc`.
- A **blinded** role gets the **blinded** CSV export only (:func:`blind`): arms, actual arms,
  treatments, doses, lot numbers and dose deviations are replaced by ``BLINDED`` or left
  blank; a CDISC format is refused (403 naming ``format``), since SDTM's trial design and
  ADaM's treatment variables are by arm.

Every download is an action (:func:`download_dataset`, :func:`download_access_list`): the file
is made and its audit row written in one transaction (who, role and time in the row; the
file's name, format, whether it was blinded, where it was asked for, its size and SHA-256 in
the row's values), so ``audit verify`` covers downloads like any other write.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
from django.utils import timezone

from celltrial.edc import audit
from celltrial.edc.actions import Forbidden
from celltrial.edc.actions._base import ActionError, action
from celltrial.edc.models import Role, Staff, Trial
from celltrial.edc.roles import sees_arm

EXPORTERS = frozenset({Role.DATA_MANAGER, Role.DSMB})
#: format -> what the web page calls it.
FORMATS = {
    "csv": "CSV tables (one file per domain)",
    "sdtm-xpt": "SDTM and ADaM, SAS XPT v5 (with define.xml)",
    "sdtm-json": "SDTM and ADaM, CDISC Dataset-JSON 1.1 (with define.xml)",
}
BLINDED = "BLINDED"
#: Columns a blinded export replaces (by ``BLINDED``) or leaves blank (None), by table.
BLINDED_COLUMNS: dict[str, dict[str, str | None]] = {
    "DM": {"ARMCD": BLINDED, "ARM": BLINDED, "ACTARMCD": BLINDED, "ACTARM": BLINDED},
    "EX": {
        "EXTRT": BLINDED,
        "EXDOSE": None,
        "EXDOSU": None,
        "EXPLDOS": None,
        "EXLOT": None,
        "EXDEVFL": None,
        "EXDEVRS": None,
    },
}


def blind(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables with every arm-revealing column masked (:data:`BLINDED_COLUMNS`): a value
    present becomes ``BLINDED`` (or blank), a blank stays blank."""
    out = {}
    for code, frame in tables.items():
        masked = frame.copy()
        for col, value in BLINDED_COLUMNS.get(code, {}).items():
            if col in masked.columns:
                masked[col] = [
                    value if v is not None and not pd.isna(v) else v for v in masked[col]
                ]
        out[code] = masked
    return out


def check(staff: Staff, fmt: str) -> bool:
    """Whether ``staff`` may download ``fmt``; returns True for the full (unblinded) export.
    Raises :class:`Forbidden` (role, or a CDISC format for a blinded role) or
    :class:`ActionError` (an unknown format), naming the field."""
    if staff.role not in EXPORTERS:
        who = ", ".join(sorted(EXPORTERS))
        raise Forbidden("role", f"a {staff.role} may not download the dataset (allowed: {who})")
    if fmt not in FORMATS:
        raise ActionError("format", f"{fmt!r} is not a format; one of {', '.join(FORMATS)}")
    full = sees_arm(staff)
    if not full and fmt != "csv":
        raise Forbidden(
            "format",
            f"a blinded {staff.role} gets the blinded CSV export only (format=csv); "
            "SDTM and ADaM are by arm",
        )
    return full


def dataset_zip(staff: Staff, fmt: str = "csv") -> tuple[str, bytes]:
    """The file name and the bytes of the zip of the staff's trial dataset in ``fmt``."""
    from celltrial.edc.export import tables

    full = check(staff, fmt)
    trial = staff.trial
    stamp = timezone.now().strftime("%Y%m%dT%H%MZ")
    kind = "" if full else "-blinded"
    name = f"{trial.code}-{fmt}{kind}-{stamp}.zip"
    data = tables(trial)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="celltrial-download-") as tmp:
        folder = Path(tmp)
        if fmt == "csv":
            _write_csv(data if full else blind(data), folder)
        else:
            _write_cdisc(staff, data, folder, "xpt" if fmt == "sdtm-xpt" else "json")
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    z.write(path, path.relative_to(folder).as_posix())
    return name, buffer.getvalue()


#: Where a download was asked for (kept in its audit row).
VIA = ("web", "api")


def _audit_download(
    actor: Staff, what: str, name: str, body: bytes, *, fmt: str, blinded: bool, via: str
) -> None:
    """The download's audit row, on the trial's record (its values name no trial column)."""
    if via not in VIA:
        raise ActionError("via", f"{via!r}: one of {', '.join(VIA)}")
    audit.write(
        actor,
        f"download_{what}",
        actor.trial,
        old=None,
        new={
            "file": name,
            "format": fmt,
            "blinded": blinded,
            "via": via,
            "bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        },
    )


@action("download_dataset", EXPORTERS)
def _download_dataset(actor: Staff, fmt: str, via: str, out: list[tuple[str, bytes]]) -> Trial:
    full = check(actor, fmt)
    name, body = dataset_zip(actor, fmt)
    _audit_download(actor, "dataset", name, body, fmt=fmt, blinded=not full, via=via)
    out.append((name, body))
    return actor.trial


def download_dataset(actor: Staff, fmt: str = "csv", *, via: str = "web") -> tuple[str, bytes]:
    """:func:`dataset_zip`, audited: the zip is made and its audit row (``download_dataset``:
    file, format, blinded or not, web or API, size, SHA-256) written in one transaction (an
    action: the role is checked, and a failure to write the row serves no file)."""
    out: list[tuple[str, bytes]] = []
    _download_dataset(actor, fmt, via, out)
    return out[0]


@action("download_access_list", [Role.ADMIN])
def _download_access_list(actor: Staff, via: str, out: list[tuple[str, bytes]]) -> Trial:
    from celltrial.edc.actions import access_list_csv

    body = access_list_csv(actor).encode("utf-8")
    name = f"{actor.trial.code}-user-access.csv"
    _audit_download(actor, "access_list", name, body, fmt="csv", blinded=True, via=via)
    out.append((name, body))
    return actor.trial


def download_access_list(actor: Staff, *, via: str = "web") -> tuple[str, bytes]:
    """The user-access list (:func:`celltrial.edc.actions.access_list_csv`) as a CSV file,
    audited as ``download_access_list`` in the same transaction."""
    out: list[tuple[str, bytes]] = []
    _download_access_list(actor, via, out)
    return out[0]


def _write_csv(data: dict[str, pd.DataFrame], folder: Path) -> None:
    for code, frame in data.items():
        frame.to_csv(folder / f"{code.lower()}.csv", index=False, encoding="utf-8")


def _write_cdisc(staff: Staff, data: dict[str, pd.DataFrame], folder: Path, fmt: str) -> None:
    from celltrial.cdisc.adam_out import to_adam
    from celltrial.cdisc.export import write_tables
    from celltrial.cdisc.sdtm_out import to_sdtm
    from celltrial.dataset import make_dataset, summarize

    dataset = make_dataset(data)
    if not dataset.ok:
        raise ActionError("dataset", "the dataset has errors: " + summarize(dataset.problems))
    protocol = staff.trial.active_protocol().protocol
    sdtm = to_sdtm(dataset, protocol)
    adam = to_adam(dataset, protocol, sdtm=sdtm)
    formats = ("xpt",) if fmt == "xpt" else ("json",)
    write_tables(sdtm, folder / "sdtm", study=sdtm.study, formats=formats)  # type: ignore[arg-type]
    write_tables(
        adam,
        folder / "adam",
        study=sdtm.study,
        formats=formats,  # type: ignore[arg-type]
        standard="ADaMIG",
        version="1.3",
    )


__all__ = [
    "EXPORTERS",
    "FORMATS",
    "blind",
    "check",
    "dataset_zip",
    "download_access_list",
    "download_dataset",
]
