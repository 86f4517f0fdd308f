"""Pooling trial records: one outcome, one effect measure, one meta-analysis.

:func:`pool` takes the records that report an outcome as counts in an experimental and a
control arm, computes per-study effect sizes (:func:`celltrial.stats.effect_size`, as
``metafor::escalc``) and fits the model (:func:`celltrial.stats.meta_analysis`, as
``metafor::rma``), with leave-one-out, subgroups and the studies left out with their reason.

R equivalent::

    dat <- escalc(measure = "RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = counts)
    rma(yi, vi, data = dat, method = "REML")
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from celltrial.evidence.records import TrialRecord
from celltrial.stats import Result
from celltrial.stats.effect_size import effect_size
from celltrial.stats.meta import LeaveOneOutResult, MetaResult, leave_one_out, meta_analysis

Measure = Literal["RR", "OR", "RD"]
_RATIO_MEASURES = {"RR", "OR"}


@dataclasses.dataclass(frozen=True)
class StudyRow:
    """One study's counts and effect size (on the analysis scale: log RR, log OR or RD)."""

    study: str
    label: str
    events_experimental: int
    n_experimental: int
    events_control: int
    n_control: int
    yi: float
    vi: float
    weight: float
    corrected: bool
    subgroup: str | None


@dataclasses.dataclass(frozen=True)
class PoolResult(Result):
    """A pooled analysis of one outcome across trial records."""

    outcome: str
    measure: str
    studies: tuple[StudyRow, ...]
    excluded: tuple[tuple[str, str], ...]
    model: MetaResult
    leave_one_out: LeaveOneOutResult | None
    subgroup_by: str | None
    n: int

    @property
    def ratio_scale(self) -> bool:
        return self.measure in _RATIO_MEASURES

    def back(self, value: float) -> float:
        """From the analysis scale to the reported scale (exp for ratios)."""
        return math.exp(value) if self.ratio_scale else value

    def summary(self) -> str:
        m = self.model
        lo, hi = m.ci
        lines = [
            f"{self.outcome}: {self.measure}, {m.method} ({m.test}), k = {m.n}",
            f"  pooled {self.measure} {self.back(m.estimate):.4g} "
            f"({100 * m.level:g}% CI {self.back(lo):.4g} to {self.back(hi):.4g}), p = {m.p_value:.4g}",
            f"  tau2 = {m.tau2:.4g}, I2 = {m.i2:.3g}%, Q({m.q_df}) = {m.q:.4g}, p = {m.q_p_value:.4g}",
        ]
        if m.prediction_interval is not None:
            a, b = m.prediction_interval
            lines.append(f"  prediction interval {self.back(a):.4g} to {self.back(b):.4g}")
        for study, reason in self.excluded:
            lines.append(f"  not pooled: {study} ({reason})")
        return "\n".join(lines)


def _arms(record: TrialRecord) -> tuple[str, str] | None:
    experimental = [a.id for a in record.arms if a.role == "experimental"]
    control = [a.id for a in record.arms if a.role == "control"]
    if len(experimental) == 1 and len(control) == 1:
        return experimental[0], control[0]
    return None


def outcome_counts(
    records: Sequence[TrialRecord], outcome: str
) -> tuple[list[tuple[TrialRecord, int, int, int, int]], list[tuple[str, str]]]:
    """(record, events_e, n_e, events_c, n_c) for each record with counts; the others with why."""
    rows: list[tuple[TrialRecord, int, int, int, int]] = []
    excluded: list[tuple[str, str]] = []
    for record in records:
        result = record.outcome(outcome)
        if result is None:
            excluded.append((record.id, f"reports no {outcome!r} outcome"))
            continue
        if result.kind != "binary":
            excluded.append((record.id, f"{outcome!r} is a {result.kind} outcome, not counts"))
            continue
        arms = _arms(record)
        if arms is None:
            excluded.append((record.id, "needs exactly one experimental and one control arm"))
            continue
        values: list[int] = []
        for arm in arms:
            count = result.arms.get(arm)
            n = record.denominator(result, arm) if count is not None else None
            if count is None or count.events is None or n is None:
                excluded.append((record.id, f"no count with its n for arm {arm!r}"))
                break
            if not isinstance(count.events, int) or not isinstance(n, int):
                excluded.append((record.id, f"arm {arm!r}: its count or n is not reported"))
                break
            values += [count.events, n]
        else:
            rows.append((record, values[0], values[1], values[2], values[3]))
    return rows, excluded


def pool(
    records: Sequence[TrialRecord],
    *,
    outcome: str,
    measure: Measure = "RR",
    method: Literal["FE", "DL", "REML", "ML", "PM", "SJ", "HE", "EB", "HS"] = "REML",
    test: Literal["z", "knha"] = "z",
    subgroup: str | None = None,
    level: float = 0.95,
) -> PoolResult:
    """Pool one binary outcome across trial records.

    Parameters
    ----------
    records : sequence of TrialRecord
    outcome : str
        The outcome id (e.g. ``"mortality"``); records without it as counts are listed in
        ``excluded`` with the reason, never silently dropped.
    measure : {"RR", "OR", "RD"}
        Effect measure; zero cells get 1/2 added as metafor's ``escalc`` default
        (``add = 1/2, to = "only0"``), double-zero studies included.
    method, test, level
        Passed to :func:`celltrial.stats.meta_analysis`.
    subgroup : str, optional
        A key of the records' ``subgroups`` (e.g. ``"cell_source"``).

    Raises
    ------
    ValueError
        Fewer than two studies with counts (naming the ones excluded and why).
    """
    if measure not in ("RR", "OR", "RD"):
        raise ValueError(f"measure: {measure!r} is not one of RR, OR, RD")
    rows, excluded = outcome_counts(records, outcome)
    if len(rows) < 2:
        why = "; ".join(f"{s}: {r}" for s, r in excluded) or "no records given"
        raise ValueError(
            f"outcome {outcome!r}: {len(rows)} study with counts; pooling needs 2 ({why})"
        )
    ai = np.array([r[1] for r in rows], dtype=float)
    n1 = np.array([r[2] for r in rows], dtype=float)
    ci = np.array([r[3] for r in rows], dtype=float)
    n2 = np.array([r[4] for r in rows], dtype=float)
    es = effect_size(measure, ai=ai, bi=n1 - ai, ci=ci, di=n2 - ci)
    groups: list[str] | None = None
    if subgroup is not None:
        groups = []
        for record, *_ in rows:
            if subgroup not in record.subgroups:
                raise ValueError(f"record {record.id}: subgroups.{subgroup} is missing")
            groups.append(record.subgroups[subgroup])
    model = meta_analysis(es.yi, es.vi, method=method, test=test, subgroup=groups, level=level)
    weights = np.asarray(model.weights, dtype=float)
    studies = tuple(
        StudyRow(
            study=record.id,
            label=_label(record),
            events_experimental=int(a),
            n_experimental=int(na),
            events_control=int(c),
            n_control=int(nc),
            yi=float(es.yi[i]),
            vi=float(es.vi[i]),
            weight=float(weights[i]),
            corrected=bool(es.corrected[i]),
            subgroup=groups[i] if groups else None,
        )
        for i, (record, a, na, c, nc) in enumerate(rows)
    )
    loo = (
        leave_one_out(es.yi, es.vi, method=method, test=test, level=level)
        if len(rows) >= 3
        else None
    )
    return PoolResult(
        outcome=outcome,
        measure=measure,
        studies=studies,
        excluded=tuple(excluded),
        model=model,
        leave_one_out=loo,
        subgroup_by=subgroup,
        n=len(rows),
    )


def _label(record: TrialRecord) -> str:
    if record.authors:
        first = record.authors[0].split()[0].rstrip(",")
    else:
        first = "".join(ch for ch in record.id if ch.isalpha()).capitalize()
    return f"{first} {record.year}" if record.year else first


def study_ci(row: StudyRow, level: float = 0.95) -> tuple[float, float]:
    """Wald CI of one study's effect on the analysis scale."""
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    half = z * math.sqrt(row.vi)
    return row.yi - half, row.yi + half


def to_table(result: PoolResult) -> list[dict[str, Any]]:
    """Rows for display: study, counts, effect and CI on the reported scale, weight %."""
    total = sum(s.weight for s in result.studies)
    out = []
    for s in result.studies:
        lo, hi = study_ci(s, result.model.level)
        out.append(
            {
                "study": s.label,
                "experimental": f"{s.events_experimental}/{s.n_experimental}",
                "control": f"{s.events_control}/{s.n_control}",
                "effect": result.back(s.yi),
                "ci": (result.back(lo), result.back(hi)),
                "weight": 100 * s.weight / total if total else float("nan"),
                "corrected": s.corrected,
            }
        )
    return out
