"""Problems found in a trial dataset: one per bad row, collected, never raised one at a time."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Literal

Level = Literal["error", "warning"]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem in a trial dataset.

    ``row`` is the 1-based data row of the table (row 1 is the line after a CSV header).
    ``str(problem)`` reads ``AE row 7 (USUBJID L-003): AETOXGR '6' is not a CTCAE grade 1–5``.
    """

    domain: str
    message: str
    row: int | None = None
    usubjid: str | None = None
    column: str | None = None
    level: Level = "error"

    def __str__(self) -> str:
        where = self.domain
        if self.row is not None:
            where += f" row {self.row}"
        if self.usubjid:
            where += f" (USUBJID {self.usubjid})"
        prefix = "warning: " if self.level == "warning" else ""
        return f"{where}: {prefix}{self.message}"


class DatasetError(ValueError):
    """A dataset with errors; ``problems`` lists every one of them."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def errors(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that are errors (not warnings)."""
    return [p for p in problems if p.level == "error"]
