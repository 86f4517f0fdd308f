"""The trial dataset: SDTM-like tables checked on load, and ADaM-like derivations.

>>> from celltrial.dataset import read_dataset, check_dataset, derive_adsl, derive_adtte
>>> from celltrial.protocol import load_protocol
>>> ds = read_dataset("tests/dataset/data/lanzoni_small")   # doctest: +SKIP
>>> p = load_protocol("lanzoni2021")
>>> problems = [*ds.problems, *check_dataset(ds, p)]        # doctest: +SKIP
>>> adtte = derive_adtte(ds, p)                             # doctest: +SKIP

The tables and their columns are defined in :mod:`celltrial.dataset.schema` and described in
``docs/dataset.md``.
"""

from celltrial.dataset.adae import derive_adae, window_flag, worst_grades
from celltrial.dataset.adlb import derive_adlb, window_problems
from celltrial.dataset.adsl import baseline_column, derive_adsl
from celltrial.dataset.adtte import NO_ORIGIN, Outcome, derive_adtte, event_occurrences, outcome
from celltrial.dataset.checks import check_dataset
from celltrial.dataset.problems import DatasetError, Problem, errors, summarize
from celltrial.dataset.schema import (
    ALL_DOMAINS,
    DOMAINS,
    Column,
    Domain,
    catalogue,
    domain,
    domain_of,
    stratum_column,
    testcd_of,
)
from celltrial.dataset.tables import (
    Dataset,
    empty_table,
    make_dataset,
    read_dataset,
    write_dataset,
)
from celltrial.dataset.visits import anchors, assign_visits, baseline_visit

__all__ = [
    "ALL_DOMAINS",
    "DOMAINS",
    "NO_ORIGIN",
    "Column",
    "Dataset",
    "DatasetError",
    "Domain",
    "Outcome",
    "Problem",
    "anchors",
    "assign_visits",
    "baseline_column",
    "baseline_visit",
    "catalogue",
    "check_dataset",
    "derive_adae",
    "derive_adlb",
    "derive_adsl",
    "derive_adtte",
    "domain",
    "domain_of",
    "empty_table",
    "errors",
    "event_occurrences",
    "make_dataset",
    "outcome",
    "read_dataset",
    "stratum_column",
    "summarize",
    "testcd_of",
    "window_flag",
    "window_problems",
    "worst_grades",
    "write_dataset",
]
