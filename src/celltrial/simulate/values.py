"""Measurement values of virtual participants: screening values that pass or fail the
protocol's eligibility rules, and values at visits from the scenario's distributions."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from celltrial.protocol import Criterion, Measurement, Protocol
from celltrial.simulate.scenario import Biomarker, Scenario

Value = float | int | bool | str


def default_biomarker(m: Measurement) -> Biomarker:
    """A log-normal for a number without a scenario entry: centred in its plausible range."""
    lo, hi = m.range if m.range is not None else (1.0, 100.0)
    median = math.sqrt(lo * hi) if lo > 0 else max(hi / 100.0, 1e-3)
    return Biomarker(median=median, sd_log=0.3, decimals=0 if m.kind == "integer" else 1)


def biomarker(scenario: Scenario, m: Measurement) -> Biomarker:
    return scenario.biomarkers.get(m.code) or default_biomarker(m)


def round_value(m: Measurement, spec: Biomarker, x: float) -> float | int:
    if m.range is not None:
        x = min(max(x, m.range[0]), m.range[1])
    if m.kind == "integer" or spec.decimals == 0:
        return round(x)
    return round(x, spec.decimals)


def draw_level(
    levels: list[str], dist: Mapping[str, float] | None, rng: np.random.Generator
) -> str:
    if dist:
        keys = list(dist)
        return str(keys[int(rng.choice(len(keys), p=np.array([dist[k] for k in keys])))])
    return levels[int(rng.integers(len(levels)))]


def natural_value(
    protocol: Protocol, scenario: Scenario, code: str, rng: np.random.Generator
) -> Value:
    """A value of ``code`` drawn from the scenario without regard to eligibility."""
    demo = scenario.demographics
    if code == "age":
        return round(_normal(demo.age.mean, demo.age.sd, demo.age.low, demo.age.high, rng))
    if code == "sex":
        return "F" if rng.random() < demo.female else "M"
    if code == "weight":
        w = demo.weight
        return round(_normal(w.mean, w.sd, w.low, w.high, rng), 1)
    strata = {s.factor: s for s in protocol.design.allocation.strata}
    if code in strata:
        return draw_level(strata[code].levels, scenario.strata.get(code), rng)
    try:
        m = protocol.measurement(code)
    except KeyError:
        return bool(rng.random() < 0.5)
    if m.kind in ("number", "integer"):
        spec = biomarker(scenario, m)
        return round_value(m, spec, spec.median * math.exp(spec.sd_log * rng.standard_normal()))
    if m.kind == "boolean":
        spec_b = scenario.booleans.get(code)
        p = spec_b.p(next(iter(spec_b.probability)), "") if spec_b is not None else 0.5
        return bool(rng.random() < p)
    if m.kind in ("category", "ordinal"):
        return draw_level(m.level_codes, scenario.categories.get(code), rng)
    return ""


def _normal(
    mean: float, sd: float, low: float | None, high: float | None, rng: np.random.Generator
) -> float:
    x = mean + sd * rng.standard_normal()
    if low is not None:
        x = max(x, low)
    if high is not None:
        x = min(x, high)
    return x


def _candidates(criterion: Criterion, m: Measurement | None, hold: bool) -> list[Value]:
    """Values of a criterion's variable for which the comparison holds (or not), when the
    natural draws do not give one."""
    op = criterion.operator
    if op in ("eq", "ne"):
        target = criterion.eq if op == "eq" else criterion.ne
        want_equal = hold if op == "eq" else not hold
        if isinstance(target, bool):
            return [target if want_equal else not target]
        if want_equal:
            return [target] if target is not None else []
        levels = m.level_codes if m is not None else []
        return [lv for lv in levels if lv != str(target)]
    if op == "in":
        allowed = [str(v) for v in criterion.in_ or []]
        if hold:
            return list(allowed)
        levels = m.level_codes if m is not None else []
        return [lv for lv in levels if lv not in allowed]
    lo, hi = m.range if m is not None and m.range is not None else (-1e6, 1e6)
    grid = np.linspace(lo, hi, 401)
    if m is not None and m.kind == "integer":
        grid = np.unique(np.round(grid))
    out: list[Value] = [float(x) for x in grid if criterion.holds(float(x)) == hold]
    return out


def screening_values(
    protocol: Protocol,
    scenario: Scenario,
    *,
    fail: str | None,
    rng: np.random.Generator,
) -> dict[str, Value]:
    """Screening values (variable or checklist id -> value) for one person.

    Every eligibility rule holds, except criterion ``fail`` (an id) which fails. Values of
    variables are drawn from the scenario and redrawn until the rules come out as wanted
    (from candidates in the plausible range when draws do not get there).
    """
    criteria = protocol.population.eligibility or []
    values: dict[str, Value] = {}
    by_var: dict[str, list[Criterion]] = {}
    for c in criteria:
        by_var.setdefault(c.variable or c.id, []).append(c)
    for var, cs in by_var.items():
        want = {c.id: c.id != fail for c in cs}

        def fits(v: Value, cs: list[Criterion] = cs, want: dict[str, bool] = want) -> bool:
            return all(c.satisfied({c.variable or c.id: v}) == want[c.id] for c in cs)

        m = None
        if cs[0].variable is not None:
            try:
                m = protocol.measurement(var)
            except KeyError:
                m = None
        chosen: Value | None = None
        if cs[0].variable is not None:
            for _ in range(60):
                v = natural_value(protocol, scenario, var, rng)
                if fits(v):
                    chosen = v
                    break
        if chosen is None:
            pool: list[Value] = []
            for c in cs:
                hold = want[c.id] if c.kind == "inclusion" else not want[c.id]
                pool.extend(_candidates(c, m, hold))
            good = [v for v in pool if fits(v)]
            if good:
                chosen = good[int(rng.integers(len(good)))]
                if isinstance(chosen, float) and m is not None:
                    chosen = round_value(m, biomarker(scenario, m), chosen)
                    if not fits(chosen):
                        chosen = good[0]
        if chosen is not None:
            values[var] = chosen
    return values


def can_fail(protocol: Protocol, criterion: Criterion) -> bool:
    """Whether a value exists that fails ``criterion`` (an ``in`` on every level cannot)."""
    m = None
    if criterion.variable is not None:
        try:
            m = protocol.measurement(criterion.variable)
        except KeyError:
            m = None
    hold = criterion.kind != "inclusion"
    if criterion.variable is None:
        return True
    return bool(_candidates(criterion, m, hold))
