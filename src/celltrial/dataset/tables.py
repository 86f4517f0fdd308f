"""The trial dataset: its tables, checked on load, read from and written to CSV or Parquet.

A dataset folder holds one file per domain, named by the domain code in lower case:
``dm.csv``, ``ae.csv``, ``lb.csv``, … or ``dm.parquet``, …. Only DM is required; a domain
without a file is an empty table.

>>> ds = read_dataset("tests/dataset/data/lanzoni_small")   # doctest: +SKIP
>>> [str(p) for p in ds.problems]                           # doctest: +SKIP
[]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pandas as pd

from celltrial.dataset.problems import DatasetError, Problem, errors
from celltrial.dataset.schema import ALL_DOMAINS, FINDINGS_DOMAINS, domain
from celltrial.dataset.validate import check_subjects, coerce_table

Format = Literal["csv", "parquet"]


@dataclasses.dataclass(frozen=True)
class Dataset:
    """The tables of one trial, typed, with the problems found when they were checked.

    Build one with :func:`read_dataset` (from a folder) or :func:`make_dataset` (from data
    frames, as the simulator does). ``tables`` holds every domain that was given, typed as
    the schema says; :meth:`table` returns an empty typed table for the others.
    """

    tables: Mapping[str, pd.DataFrame]
    problems: tuple[Problem, ...] = ()
    #: Errors accepted as warnings: ``(domain, column, rule)`` (rule ``""``: any), the known
    #: inconsistencies of a source study that its mapping accepts (``celltrial.cdisc``:
    #: ``accept: [AE AESTDTC after_consent]``). :func:`celltrial.dataset.check_dataset` reports
    #: them as warnings; nothing of the data is changed.
    accepted: frozenset[tuple[str, str, str]] = frozenset()

    def table(self, code: str) -> pd.DataFrame:
        """The table of domain ``code`` (empty with the schema's columns when not given)."""
        code = code.upper()
        if code in self.tables:
            return self.tables[code]
        return empty_table(code)

    @property
    def dm(self) -> pd.DataFrame:
        return self.table("DM")

    @property
    def study(self) -> str | None:
        """The STUDYID of DM's first row (None when DM is empty)."""
        ids = self.dm["STUDYID"].dropna()
        return str(ids.iloc[0]) if len(ids) else None

    @property
    def findings_domains(self) -> tuple[str, ...]:
        """The findings domains present (``LB``, ``VS``, …)."""
        return tuple(c for c in FINDINGS_DOMAINS if c in self.tables)

    @property
    def ok(self) -> bool:
        """True when no problem is an error (warnings allowed)."""
        return not errors(self.problems)

    def raise_for_problems(self) -> None:
        """Raise :class:`DatasetError` listing every error, if there is any."""
        bad = errors(self.problems)
        if bad:
            raise DatasetError(bad)


def empty_table(code: str) -> pd.DataFrame:
    """An empty, typed table of domain ``code``."""
    table, _ = coerce_table(domain(code), pd.DataFrame({c: [] for c in domain(code).names}))
    return table


def make_dataset(tables: Mapping[str, pd.DataFrame]) -> Dataset:
    """Check raw tables (domain code → data frame) and build a :class:`Dataset`.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Raw tables by domain code (``"DM"``, ``"AE"``, …); values may be text or typed.

    Returns
    -------
    Dataset
        Every row kept; ``problems`` lists what the schema checks found.
    """
    problems: list[Problem] = []
    typed: dict[str, pd.DataFrame] = {}
    for code, raw in tables.items():
        code = code.upper()
        if code not in ALL_DOMAINS:
            problems.append(
                Problem(code, f"{code} is not a domain of the dataset; ignored", level="warning")
            )
            continue
        table, found = coerce_table(domain(code), raw)
        typed[code] = table
        problems.extend(found)
    if "DM" not in typed:
        problems.append(Problem("DM", "the dataset has no DM table (one row per participant)"))
    problems.extend(check_subjects(typed))
    return Dataset(tables=typed, problems=tuple(problems))


def _files(folder: Path, fmt: Format | None) -> dict[str, Path]:
    found: dict[str, dict[str, Path]] = {"csv": {}, "parquet": {}}
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower().lstrip(".")
        if suffix in found and path.is_file():
            found[suffix][path.stem.upper()] = path
    if fmt is None:
        fmt = "parquet" if found["parquet"] and not found["csv"] else "csv"
        if found["parquet"] and found["csv"]:
            # Both: each domain from whichever file exists, Parquet first.
            return {**found["csv"], **found["parquet"]}
    return found[fmt]


def read_dataset(folder: str | Path, *, format: Format | None = None) -> Dataset:
    """Read a dataset folder (one CSV or Parquet file per domain) and check it.

    Parameters
    ----------
    folder : str or Path
        The folder; files are named ``dm.csv``, ``ae.parquet``, … (case does not matter).
    format : {"csv", "parquet"}, optional
        Read only files of this format. By default each domain is read from its Parquet file
        if there is one, else from its CSV file.

    Returns
    -------
    Dataset
        The typed tables and every problem found. Nothing is raised for bad content: a file
        that cannot be parsed is one problem, a bad value one problem per row.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return Dataset(tables={}, problems=(Problem("DM", f"{folder} is not a folder"),))
    raw: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for code, path in _files(folder, format).items():
        if code not in ALL_DOMAINS:
            problems.append(
                Problem(
                    code, f"{path.name} is not a domain of the dataset; ignored", level="warning"
                )
            )
            continue
        try:
            if path.suffix.lower() == ".csv":
                raw[code] = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
            else:
                raw[code] = pd.read_parquet(path, engine="pyarrow")
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            with path.open("rb") as fh:
                head = fh.read(48)
            if head.startswith(b"HEADER RECORD*******LIBRARY"):
                first = "it is a SAS XPT file, not CSV (read SDTM with `celltrial cdisc load`)"
            problems.append(Problem(code, f"cannot read {path.name}: {first}"))
    ds = make_dataset(raw)
    if "DM" not in raw:
        other = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in (".xpt", ".json"))
        if other:
            problems.append(
                Problem(
                    "DM",
                    f"the folder holds {', '.join(other[:4])}{', …' if len(other) > 4 else ''}: "
                    "an SDTM study in XPT or Dataset-JSON is read with "
                    "`celltrial cdisc load FOLDER --mapping …` (docs/cdisc.md)",
                )
            )
    return Dataset(tables=ds.tables, problems=(*problems, *ds.problems))


def write_dataset(dataset: Dataset, folder: str | Path, *, format: Format = "csv") -> list[Path]:
    """Write every table of ``dataset`` to ``folder`` as ``dm.csv``, … or ``dm.parquet``, ….

    Parameters
    ----------
    dataset : Dataset
    folder : str or Path
        Created if needed; existing files of the same names are replaced.
    format : {"csv", "parquet"}
        CSV (UTF-8, header row, blank for missing) or Parquet (pyarrow; text and ISO 8601
        dates as strings, numbers as float64, whole numbers as int64).

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for code, table in dataset.tables.items():
        path = folder / f"{code.lower()}.{format}"
        if format == "csv":
            table.to_csv(path, index=False, encoding="utf-8")
        else:
            table.to_parquet(path, index=False, engine="pyarrow")
        written.append(path)
    return written
