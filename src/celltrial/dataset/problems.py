"""Problems found in a trial dataset: one per bad row, collected, never raised one at a time."""

from __future__ import annotations

import dataclasses
import re
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


#: Above this many problems a message gives the summary (:func:`summarize`), not every line.
FULL_LIST_UP_TO = 20


class DatasetError(ValueError):
    """A dataset with errors; ``problems`` lists every one of them.

    The message lists them all when there are at most :data:`FULL_LIST_UP_TO`, else gives the
    summary of :func:`summarize`.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        if len(self.problems) <= FULL_LIST_UP_TO:
            super().__init__("\n".join(str(p) for p in self.problems))
        else:
            super().__init__(summarize(self.problems))


_RULE = re.compile(r"\[rule ([A-Za-z0-9_]+)\]$")


def summarize(problems: Iterable[Problem], *, first: int = 3) -> str:
    """A summary a person can read: counts by table and rule, then the first rows of each.

    A rule is the table, level and column of a problem (``AE AETOXGR``), and the named rule of
    the shared rule set when the message ends with one (``[rule after_consent]``); problems
    without a column are grouped by message.

    >>> print(summarize([Problem("AE", "AETOXGR '6' is not a CTCAE grade 1–5", 3,
    ...                          column="AETOXGR")]))
    1 problem (1 error, 0 warnings) in 1 rule:
      AE AETOXGR: 1 error
        AE row 3: AETOXGR '6' is not a CTCAE grade 1–5
    """
    items = list(problems)
    groups: dict[tuple[str, str, str], list[Problem]] = {}
    for p in items:
        rule = p.column if p.column is not None else p.message
        named = _RULE.search(p.message)
        if named and p.column is not None:
            rule = f"{p.column} ({named.group(1)})"
        groups.setdefault((p.domain, rule, p.level), []).append(p)
    n_err = sum(p.level == "error" for p in items)
    lines = [
        f"{len(items)} problem{'s' if len(items) != 1 else ''} ({n_err} error"
        f"{'s' if n_err != 1 else ''}, {len(items) - n_err} warning"
        f"{'s' if len(items) - n_err != 1 else ''}) in {len(groups)} rule"
        f"{'s' if len(groups) != 1 else ''}:"
    ]
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][2] != "error", -len(kv[1]), kv[0]))
    for (dom, rule, level), group in ordered:
        what = f"{dom} {rule}" if len(rule) <= 40 and rule.isascii() else dom
        lines.append(f"  {what}: {len(group)} {level}{'s' if len(group) != 1 else ''}")
        lines.extend(f"    {p}" for p in group[:first])
        if len(group) > first:
            lines.append(f"    … and {len(group) - first} more")
    return "\n".join(lines)


def errors(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that are errors (not warnings)."""
    return [p for p in problems if p.level == "error"]
