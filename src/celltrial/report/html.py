"""The HTML report: one self-contained file (figures as inline SVG), blinded or closed.

The **blinded** report is for the trial team: every table and figure is pooled over arms,
no between-arm test or effect is shown, listings carry no arm column, and any arm id or
label left in free text (data warnings, deviation texts) is replaced by ``[arm]``. The
**closed** report is for the DSMB: everything by arm, with tests and effects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from celltrial.analysis import (
    POOLED,
    POOLED_LABEL,
    BinaryResult,
    ContinuousResult,
    DataProblem,
    Effect,
    EndpointResult,
    SafetyCountResult,
    TimeToEventResult,
    TrialAnalysis,
)
from celltrial.report import figures
from celltrial.report.template import TEMPLATE

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def _num(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.{digits}g}"


def _p(p: float) -> str:
    if math.isnan(p):
        return "NA"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def _ci(ci: tuple[float, float], digits: int = 3) -> str:
    return f"{_num(ci[0], digits)} to {_num(ci[1], digits)}"


def _pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.0f}%)" if n else f"{k}/0"


class _View:
    """Builds the template's rows for one variant (the columns it may show)."""

    def __init__(self, analysis: TrialAnalysis, closed: bool) -> None:
        self.a = analysis
        self.closed = closed
        #: "randomized", or "assigned" for a non-randomized design (Meng 2020)
        self.assigned = "randomized" if analysis.randomized else "assigned"
        self._drawn: set[str] = set()
        self.labels = {x.id: x.label for x in analysis.arms}
        arms = [(x.id, x.label) for x in analysis.arms]
        self.cols: list[tuple[str, str]] = (
            [*arms, (POOLED, "Total")] if closed else [(POOLED, POOLED_LABEL)]
        )
        words = sorted({*self.labels, *self.labels.values()}, key=len, reverse=True)
        self._redact = (
            re.compile("|".join(rf"\b{re.escape(w)}\b" for w in words)) if words else None
        )

    def text(self, s: str) -> str:
        if self.closed or self._redact is None:
            return s
        return self._redact.sub("[arm]", s)

    def rows(self, items: Sequence[Any], cell: Callable[[Any], str]) -> list[str]:
        by = {getattr(i, "arm", None): i for i in items}
        return [cell(by[c]) if c in by else "—" for c, _ in self.cols]

    # --- tables -----------------------------------------------------------------------

    def baseline(self) -> list[dict[str, Any]]:
        out = []
        for r in self.a.baseline.rows:
            cells = ["" if r.kind == "header" else r.text(c) for c, _ in self.cols]
            out.append(
                {"label": r.label.strip(), "indent": r.label.startswith(" "), "cells": cells}
            )
        return out

    def exposure(self) -> list[dict[str, Any]]:
        e = self.a.exposure
        spec: list[tuple[str, Callable[[Any], str]]] = [
            (f"Participants {self.assigned}", lambda x: str(x.participants)),
            ("Administrations planned", lambda x: str(x.planned)),
            (
                "Administrations given",
                lambda x: (
                    f"{x.given} ({100 * x.given / x.planned:.0f}%)" if x.planned else str(x.given)
                ),
            ),
            (
                "Participants given every planned dose",
                lambda x: _pct(x.all_planned, x.participants),
            ),
            ("Participants given no dose", lambda x: str(x.none_given)),
            (
                "Administrations with a dose, product or timing deviation",
                lambda x: str(x.deviations),
            ),
        ]
        return [{"label": lab, "cells": self.rows(e, f)} for lab, f in spec]

    def safety(self) -> list[dict[str, Any]]:
        s = (*self.a.safety.arms, self.a.safety.pooled)
        spec: list[tuple[str, Callable[[Any], str]]] = [
            ("Participants (safety population)", lambda x: str(x.n)),
            ("Adverse events (events)", lambda x: str(x.ae_events)),
            ("Participants with any AE", lambda x: _pct(x.any_ae, x.n)),
            ("Participants with a grade ≥ 3 AE", lambda x: _pct(x.grade3, x.n)),
            ("Participants with a serious AE", lambda x: _pct(x.any_sae, x.n)),
            ("Deaths (safety population)", lambda x: _pct(x.deaths, x.n)),
        ]
        out = [{"label": lab, "cells": self.rows(s, f)} for lab, f in spec]
        c = (*self.a.consort.arms, self.a.consort.pooled)
        if self.a.consort.pooled.deaths != self.a.safety.pooled.deaths:
            # Deaths of participants never dosed are in CONSORT (as randomized), not in the
            # safety population (as treated): both counts are shown, so they can be reconciled.
            out.append(
                {
                    "label": "Deaths, all randomized (as randomized, as in CONSORT)",
                    "cells": self.rows(c, lambda x: _pct(x.deaths, x.allocated)),
                }
            )
        return out

    def terms(self) -> list[dict[str, Any]]:
        out = []
        for t in self.a.safety.terms:
            part, grade = dict(t.participants), dict(t.by_grade)
            cells = [
                (str(part.get(c, 0)), "/".join(str(g) for g in grade.get(c, (0,) * 5)))
                for c, _ in self.cols
            ]
            out.append({"term": t.term, "cells": cells})
        return out

    def relatedness(self) -> list[dict[str, Any]]:
        """AEs and SAEs by causality to the study treatment (participants / events)."""
        out = []
        for r in self.a.safety.relatedness:
            by = {a: (p, n) for a, p, n in r.counts}
            what = "Serious AEs" if r.serious_only else "AEs"
            if r.to == "infusion":
                cat = "pre-specified infusion-associated events"
            else:
                cat = (
                    "related (related, probably or possibly related)"
                    if r.relatedness == "ANY RELATED"
                    else r.relatedness.lower()
                )
                cat = f"{cat} to the {'infusion procedure' if r.to == 'procedure' else 'product'}"
            cells = [f"{by[c][0]} / {by[c][1]}" if c in by else "—" for c, _ in self.cols]
            out.append({"label": f"{what}: {cat}", "cells": cells})
        return out

    def windows(self) -> list[dict[str, Any]]:
        out = []
        for _, label, counts in self.a.safety.windows:
            by = {a: (p, n) for a, p, n in counts}
            cells = [f"{by[c][0]} / {by[c][1]}" if c in by else "—" for c, _ in self.cols]
            out.append({"label": label, "cells": cells})
        return out

    # --- endpoints --------------------------------------------------------------------

    def _effects(self, e: EndpointResult, *, prespecified: bool = True) -> list[str]:
        out = []
        for f in e.effects:
            if f.prespecified != prespecified:
                continue
            vs = f"{self.labels.get(f.treatment, f.treatment)} vs {self.labels.get(f.reference, f.reference)}"
            if f.estimable:
                out.append(
                    f"{f.measure} ({vs}): {_num(f.estimate)} (95% CI {_ci(f.ci)}); p = {_p(f.p_value)}"
                )
            else:
                out.append(f"{f.measure} ({vs}): {f.note}")
        return out

    def endpoint(self, e: EndpointResult) -> dict[str, Any]:
        # figures: the arms when closed (the table has the total), the pooled curve when blinded
        arms = [(c, lab) for c, lab in self.cols if not (self.closed and c == POOLED)]
        rows: list[dict[str, Any]] = []
        items: tuple[Any, ...]
        tests: list[str] = []
        explo: list[str] = []
        figs: list[Markup] = []
        if isinstance(e, TimeToEventResult):
            items = (*e.arms, e.pooled)
            d = f"{e.horizon:g}"
            rows = [
                {"label": "n", "cells": self.rows(items, lambda x: str(x.n))},
                {"label": "Events", "cells": self.rows(items, lambda x: str(x.events))},
                {
                    "label": f"Censored before day {d} (left the study)",
                    "cells": self.rows(items, lambda x: str(x.censored_early)),
                },
                {
                    "label": f"KM estimate at day {d} (95% CI)",
                    "cells": self.rows(
                        items, lambda x: f"{_num(x.survival)} ({_ci(x.survival_ci)})"
                    ),
                },
                {
                    "label": "Median, days (95% CI)",
                    "cells": self.rows(items, lambda x: f"{_num(x.median)} ({_ci(x.median_ci)})"),
                },
            ]
            if any(a.ongoing for a in items):
                rows.insert(
                    3,
                    {
                        "label": f"Censored before day {d} (still in follow-up)",
                        "cells": self.rows(items, lambda x: str(x.ongoing)),
                    },
                )
            if any(a.competing for a in items):
                rows.append(
                    {
                        "label": "Competing events",
                        "cells": self.rows(items, lambda x: str(x.competing)),
                    }
                )
            if e.times:
                days = (*e.times, *((e.times_pooled,) if e.times_pooled else ()))
                rows += [
                    {
                        "label": "Days to the event, participants with it (n)",
                        "cells": self.rows(days, lambda x: str(x.n)),
                    },
                    {
                        "label": "Days to the event, median (IQR)",
                        "cells": self.rows(
                            days, lambda x: f"{_num(x.median)} ({_num(x.q1)} to {_num(x.q3)})"
                        ),
                    },
                ]
            if self.closed and e.wilcoxon is not None:
                w = e.wilcoxon
                tests.append(
                    f"Wilcoxon rank-sum test of the days to the event: W = {w.statistic:g}, "
                    f"p = {_p(w.p_value)} ({'exact' if w.exact else 'normal approximation'})"
                )
            if self.closed and e.logrank is not None:
                lr = e.logrank
                tests.append(
                    f"Log-rank test: χ² = {lr.statistic:.4f}, df = {lr.df}, p = {_p(lr.p_value)}"
                )
            figs.append(Markup(figures.km_plot(e, arms)))
            if e.cumulative_incidence is not None or e.pooled_incidence is not None:
                figs.append(Markup(figures.cif_plot(e, arms)))
        elif isinstance(e, (BinaryResult, SafetyCountResult)):
            items = (*e.arms, e.pooled)
            rows = [
                {
                    "label": "Participants with the outcome, n/N (%)",
                    "cells": self.rows(items, lambda x: _pct(x.events, x.n)),
                }
            ]
            if isinstance(e, SafetyCountResult):
                wlabels: dict[str, str] = {}
                for win in e.windows:
                    wlabels.setdefault(win.window, win.label)
                for wid, lab in wlabels.items():
                    ws = [win for win in e.windows if win.window == wid]
                    rows.append(
                        {
                            "label": f"{lab} (participants / events)",
                            "cells": self.rows(ws, lambda x: f"{x.participants} / {x.events}"),
                        }
                    )
            if self.closed and e.fisher is not None:
                tests.append(
                    f"Fisher's exact test: p = {_p(e.fisher.p_value)}; conditional MLE odds ratio "
                    f"{_num(e.fisher.estimate)} (95% CI {_ci(e.fisher.ci)})"
                )
        elif isinstance(e, ContinuousResult):
            items = (*e.arms, e.pooled)
            what = "Change from baseline" if e.change else "Value"
            unit = f" ({e.unit})" if e.unit else ""
            rows = [
                {"label": "n", "cells": self.rows(items, lambda x: str(x.n))},
                {
                    "label": f"{what}{unit}, median (IQR)",
                    "cells": self.rows(
                        items, lambda x: f"{_num(x.median)} ({_num(x.q1)} to {_num(x.q3)})"
                    ),
                },
                {
                    "label": f"{what}{unit}, mean (SD)",
                    "cells": self.rows(items, lambda x: f"{_num(x.mean)} ({_num(x.sd)})"),
                },
            ]
            if e.percent:
                pc = (*e.percent, *((e.percent_pooled,) if e.percent_pooled else ()))
                rows += [
                    {
                        "label": "Percent change from baseline, mean (SD)",
                        "cells": self.rows(pc, lambda x: f"{_num(x.mean)}% ({_num(x.sd)})"),
                    },
                    {
                        "label": "Percent change from baseline, median (IQR)",
                        "cells": self.rows(
                            pc, lambda x: f"{_num(x.median)}% ({_num(x.q1)} to {_num(x.q3)})"
                        ),
                    },
                ]
            for test, name, est in (
                ("wilcoxon_signed_rank", "Wilcoxon signed-rank test", "pseudomedian"),
                ("paired_t_test", "paired t-test", "mean"),
            ):
                tested = [w for w in e.within if w.test == test]
                if tested:
                    rows.append(
                        {
                            "label": f"Within-arm change, {name}: {est} (95% CI); p",
                            "cells": self.rows(
                                tested,
                                lambda x: f"{_num(x.estimate)} ({_ci(x.ci)}); p = {_p(x.p_value)}",
                            ),
                        }
                    )
            if e.by_survival:
                rows += [
                    {
                        "label": "Survivors / died during the study (n)",
                        "cells": self.rows(e.by_survival, lambda x: f"{x.n_survived} / {x.n_died}"),
                    },
                    {
                        "label": f"Died vs survivors, {what.lower()}: difference in means "
                        "(95% CI); Welch t-test p",
                        "cells": self.rows(
                            e.by_survival,
                            lambda x: f"{_num(x.estimate)} ({_ci(x.ci)}); p = {_p(x.p_value)}",
                        ),
                    },
                ]
            if self.closed and e.wilcoxon is not None:
                w = e.wilcoxon
                line = (
                    f"Wilcoxon rank-sum test: W = {w.statistic:g}, p = {_p(w.p_value)}"
                    f" ({'exact' if w.exact else 'normal approximation'})"
                )
                (explo if "wilcoxon_rank_sum" in e.exploratory else tests).append(line)
            if self.closed and e.t_test is not None:
                tests.append(
                    f"Welch t-test: t = {e.t_test.statistic:.3f}, p = {_p(e.t_test.p_value)}"
                )
            if e.trajectory and e.measurement not in self._drawn:
                # one figure per measurement: its later endpoints show the same values
                self._drawn.add(e.measurement)
                figs.append(Markup(figures.trajectory_plot(e, arms)))
        if self.closed:
            tests += self._effects(e)
            explo += self._effects(e, prespecified=False)
        notes = [self.text(n) for n in e.notes] if self.closed else []
        return {
            "label": e.label,
            "primary": e.primary,
            "method": e.method if self.closed else _blinded_method(e.method),
            "population": e.population,
            "n": e.n,
            "n_missing": e.n_missing,
            "columns": [lab for _, lab in self.cols],
            "rows": rows,
            "tests": tests,
            "exploratory": explo,
            "notes": notes,
            "figures": figs,
        }

    def listings(self) -> list[dict[str, Any]]:
        out = []
        for lst in self.a.listings:
            keep = [i for i in range(len(lst.columns)) if self.closed or i != lst.arm_column]
            out.append(
                {
                    "title": lst.title,
                    "columns": [
                        lst.columns[i].replace("as randomized", f"as {self.assigned}") for i in keep
                    ],
                    "rows": [[self.text(r[i]) for i in keep] for r in lst.rows],
                }
            )
        return out

    def missing(self) -> list[dict[str, str]]:
        labels = {e.endpoint: e.label for e in self.a.endpoints}
        return [
            {
                "endpoint": labels[ep],
                "usubjid": m.usubjid,
                "arm": self.labels.get(m.arm, m.arm),
                "reason": self.text(m.reason),
            }
            for ep, m in self.a.missing
        ]

    def forest(self) -> str | None:
        if not self.closed:
            return None
        effects: list[tuple[str, Effect]] = [
            (e.label, f) for e in self.a.endpoints for f in e.effects if f.prespecified
        ]
        return figures.forest_plot(effects, self.labels) if effects else None


_BETWEEN_ARM = ("log-rank", "Cox", "Fisher", "Wilcoxon", "Hodges", "t-test", "risk difference")


def _blinded_method(method: str) -> str:
    parts = [p for p in method.split("; ") if not any(k in p for k in _BETWEEN_ARM)]
    return "; ".join(parts) + " (pooled over arms; between-arm analyses in the closed report)"


#: What the blinded report says of a record whose problem may name the arm.
_HIDDEN = (
    "an administration record does not fit the protocol (the details are in the closed report)"
)


def _data_problem(d: DataProblem, closed: bool) -> dict[str, str | None]:
    """A row of the "Data problems" section; in the blinded report, nothing arm-revealing."""
    what = d.what if closed or d.blinded_safe else _HIDDEN
    return {
        "record": d.record,
        "usubjid": d.usubjid,
        "site": d.site,
        "what": what,
        "left_out": d.left_out,
    }


def _sections(forest: bool, exploratory: bool) -> dict[str, int]:
    """Numbers of the report's sections after the endpoints (5), as present."""
    out: dict[str, int] = {}
    n = 5
    for name, present in (
        ("forest", forest),
        ("exploratory", exploratory),
        ("listings", True),
        ("missing", True),
    ):
        if present:
            n += 1
            out[name] = n
    return out


def render_html(analysis: TrialAnalysis, *, closed: bool = False) -> str:
    """The report as one self-contained HTML document.

    Parameters
    ----------
    analysis : TrialAnalysis
        From :func:`celltrial.analysis.analyze`.
    closed : bool
        False (default): the blinded report, pooled over arms, for the trial team.
        True: the closed report, by arm, for the DSMB.
    """
    from celltrial import __version__

    v = _View(analysis, closed)
    endpoints = [v.endpoint(e) for e in analysis.endpoints]
    forest = v.forest()
    consort_cols = (*analysis.consort.arms,) if closed else (analysis.consort.pooled,)
    context = {
        "title": analysis.title,
        "protocol_id": analysis.protocol_id,
        "closed": closed,
        "variant_title": "CLOSED REPORT — DSMB ONLY (by arm)"
        if closed
        else "BLINDED REPORT (pooled over arms)",
        "variant_text": (
            "closed: results by arm, for the Data and Safety Monitoring Board only"
            if closed
            else "blinded: every result pooled over arms, for the trial team"
        ),
        "accent": "#b03a2e" if closed else "#1f5fa8",
        "version": __version__,
        "consort_svg": Markup(
            figures.consort_plot(analysis.consort, consort_cols, assigned=v.assigned.capitalize())
        ),
        "assigned": v.assigned,
        "columns": [lab for _, lab in v.cols],
        "safety_columns": [lab for _, lab in v.cols],
        "baseline": v.baseline(),
        "exposure": v.exposure(),
        "safety": v.safety(),
        "terms": v.terms(),
        "windows": v.windows(),
        "relatedness": v.relatedness(),
        "endpoints": endpoints,
        "exploratory": [
            {"label": e["label"], "tests": e["exploratory"]} for e in endpoints if e["exploratory"]
        ],
        "sections": _sections(forest is not None, any(e["exploratory"] for e in endpoints)),
        "forest_svg": Markup(forest) if forest else None,
        "listings": v.listings(),
        "missing": v.missing(),
        "problems": [v.text(str(p)) for p in analysis.problems],
        "data_problems": [_data_problem(d, closed) for d in analysis.data_problems],
    }
    return _ENV.from_string(TEMPLATE).render(**context)


def write_html(analysis: TrialAnalysis, path: str | Path, *, closed: bool = False) -> Path:
    """Write the report to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(analysis, closed=closed), encoding="utf-8")
    return path
