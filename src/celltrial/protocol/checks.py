"""Cross-field checks of a protocol: rules that span several parts of the file.

Each check yields ``(path, message)``, the path a tuple of keys and list indexes
(``("arms", 0, "dose", "unit")``) so the loader can point at the line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from celltrial.protocol.models import Arm, Condition, Protocol, is_unknown, methods_for

Path = tuple[str | int, ...]
Problem = tuple[Path, str]

_CELL_UNITS = {"cells", "cells/kg"}
_VOLUME_UNITS = {"mL", "mL/kg"}
_MASS_UNITS = {"mg", "mg/kg"}
_UNITS_BY_KIND = {
    "living_cells": _CELL_UNITS,
    "secretome": _VOLUME_UNITS,
    "vehicle": _VOLUME_UNITS,
    # A placebo matches its active product: a volume for an infusion, a mass for a drug.
    "placebo": _VOLUME_UNITS | _MASS_UNITS,
    "drug": _MASS_UNITS | _VOLUME_UNITS,
}


def check_protocol(p: Protocol) -> list[Problem]:
    """All cross-field problems of ``p`` (an empty list when it is consistent)."""
    problems: list[Problem] = []
    for check in CHECKS:
        problems.extend(check(p))
    return problems


def _duplicates(items: list[str]) -> set[str]:
    return {k for k, n in Counter(items).items() if n > 1}


def _unique_ids(p: Protocol) -> Iterator[Problem]:
    lists: list[tuple[str, list[str], str]] = [
        ("arms", [a.id for a in p.arms], "id"),
        ("measurements", [m.code for m in p.measurements], "code"),
        ("events", [e.code for e in p.events], "code"),
        ("endpoints", [e.id for e in p.endpoints], "id"),
        ("safety", [w.id for w in p.safety.windows], "id"),
    ]
    for section, ids, key in lists:
        for dup in _duplicates(ids):
            i = len(ids) - 1 - ids[::-1].index(dup)
            path: Path = ("safety", "windows", i, key) if section == "safety" else (section, i, key)
            yield path, f"{dup!r} is used twice; {key}s must be unique"
    visit_ids = [v.id for v in p.schedule.visits]
    for dup in _duplicates(visit_ids):
        i = len(visit_ids) - 1 - visit_ids[::-1].index(dup)
        yield ("schedule", "visits", i, "id"), f"{dup!r} is used twice; visit ids must be unique"
    codes = {m.code for m in p.measurements}
    for i, e in enumerate(p.events):
        if e.code in codes:
            yield ("events", i, "code"), f"{e.code!r} is both a measurement and an event"


#: Allocation methods of a non-randomized design (no sealed list).
NON_RANDOM_METHODS = ("none", "investigator", "enrolment_order")


def _allocation(p: Protocol) -> Iterator[Problem]:
    alloc = p.design.allocation
    base: Path = ("design", "allocation")
    arm_ids = [a.id for a in p.arms]
    randomized = p.design.assignment == "randomized"
    if not randomized and alloc.method not in (*NON_RANDOM_METHODS, None):
        yield (
            (*base, "method"),
            f"{alloc.method!r}: a non-randomized design has method "
            f"{', '.join(repr(m) for m in NON_RANDOM_METHODS)}",
        )
    if randomized and alloc.method in NON_RANDOM_METHODS:
        yield (
            (*base, "method"),
            f"{alloc.method!r}: a randomized design needs a randomization method",
        )
    if randomized and len(p.arms) < 2:
        yield ("arms",), "a randomized design needs at least two arms"
    ratio = alloc.ratio
    weights: list[int] = []
    if isinstance(ratio, str):
        parts = ratio.split(":")
        if not all(part.strip().isdigit() for part in parts):
            yield (*base, "ratio"), f"{ratio!r} is not a ratio such as '1:1' or '2:1'"
        elif len(parts) != len(arm_ids):
            yield (
                (*base, "ratio"),
                f"{ratio!r} has {len(parts)} parts but the protocol has {len(arm_ids)} arms",
            )
        else:
            weights = [int(x) for x in parts]
    elif isinstance(ratio, dict):
        if set(ratio) != set(arm_ids):
            yield (
                (*base, "ratio"),
                f"names arms {sorted(ratio)} but the arms are {sorted(arm_ids)}",
            )
        weights = list(ratio.values())
    elif ratio is None and randomized and not is_unknown(alloc, "ratio"):
        yield (*base, "ratio"), "a randomized design needs its ratio (or write 'unknown')"
    if weights and any(w <= 0 for w in weights):
        yield (*base, "ratio"), f"every part of the ratio must be a positive integer, got {weights}"
        weights = []
    total = sum(weights)
    if alloc.block_sizes and total:
        for i, size in enumerate(alloc.block_sizes):
            if size % total:
                yield (
                    (*base, "block_sizes", i),
                    f"block size {size} is not a multiple of the ratio's sum {total}",
                )
    if alloc.method == "stratified_blocks" and not alloc.strata and not alloc.stratify_by_site:
        yield (*base, "strata"), "stratified_blocks needs strata factors or stratify_by_site: true"
    if alloc.method == "minimization" and alloc.minimization is None:
        yield (*base, "minimization"), "minimization needs its factors"
    by_code = {m.code: m for m in p.measurements}
    factors = [s.factor for s in alloc.strata]
    if alloc.minimization is not None:
        factors += [f for f in alloc.minimization.factors if f not in factors]
    for i, stratum in enumerate(alloc.strata):
        m = by_code.get(stratum.factor)
        if m is None:
            yield (*base, "strata", i, "factor"), f"{stratum.factor!r} is not a measurement"
            continue
        if m.kind not in ("category", "ordinal", "boolean"):
            yield (
                (*base, "strata", i, "factor"),
                f"{stratum.factor!r} is a {m.kind} measurement; strata need categories",
            )
            continue
        known = ["true", "false"] if m.kind == "boolean" else m.level_codes
        for j, level in enumerate(stratum.levels):
            if level not in known:
                yield (
                    (*base, "strata", i, "levels", j),
                    f"{level!r} is not a level of measurement {m.code!r} ({', '.join(known)})",
                )
    if alloc.minimization is not None:
        for i, f in enumerate(alloc.minimization.factors):
            if f not in by_code:
                yield (*base, "minimization", "factors", i), f"{f!r} is not a measurement"


def _condition_fits(cond: Condition, kind: str, levels: list[str]) -> str | None:
    op = cond.operator
    if op in ("lt", "le", "gt", "ge", "between") and kind not in ("number", "integer", "ordinal"):
        return f"'{op}' compares numbers but the variable is a {kind} measurement"
    if kind in ("category",) and op in ("eq", "ne", "in"):
        values = cond.in_ if op == "in" else [getattr(cond, op)]
        bad = [v for v in values or [] if str(v) not in levels]
        if bad:
            return f"{bad[0]!r} is not a level ({', '.join(levels)})"
    if kind == "boolean" and op in ("eq", "ne") and not isinstance(getattr(cond, op), bool):
        return f"a boolean variable compares with true or false, not {getattr(cond, op)!r}"
    return None


def _eligibility(p: Protocol) -> Iterator[Problem]:
    by_code = {m.code: m for m in p.measurements}
    ids = [c.id for c in p.population.eligibility or []]
    for dup in _duplicates(ids):
        yield ("population", "eligibility", ids.index(dup), "id"), f"{dup!r} is used twice"
    for i, c in enumerate(p.population.eligibility or []):
        if c.variable is None:
            continue
        m = by_code.get(c.variable)
        if m is None:
            yield (
                ("population", "eligibility", i, "variable"),
                f"{c.variable!r} is not a measurement in the catalogue",
            )
            continue
        problem = _condition_fits(c, m.kind, m.level_codes)
        if problem:
            yield (
                ("population", "eligibility", i, c.operator if c.operator != "in" else "in"),
                problem,
            )


def _arms(p: Protocol) -> Iterator[Problem]:
    for i, arm in enumerate(p.arms):
        kind = arm.product.kind
        if kind == "standard_care":
            if arm.dose is not None:
                yield ("arms", i, "dose"), "a standard-care-only arm has no dose"
            if arm.administrations is not None:
                yield (
                    ("arms", i, "administrations"),
                    "a standard-care-only arm has no administrations",
                )
            continue
        if arm.dose is None and not is_unknown(arm, "dose"):
            yield ("arms", i, "dose"), f"a {kind} product needs a dose (or write 'unknown')"
        if arm.administrations is None and not is_unknown(arm, "administrations"):
            yield ("arms", i, "administrations"), "the product needs administrations (or 'unknown')"
        dose = arm.dose
        if dose is None:
            continue
        allowed = _UNITS_BY_KIND[kind]
        if dose.unit not in allowed:
            yield (
                ("arms", i, "dose", "unit"),
                f"{dose.unit!r} does not fit a {kind} product; use {' or '.join(sorted(allowed))}",
            )
        if dose.amount is not None:
            if dose.tolerance is not None and dose.tolerance >= dose.amount:
                yield ("arms", i, "dose", "tolerance"), "the tolerance must be below the amount"
            if dose.cap is not None and not dose.per_kg and dose.cap < dose.amount:
                yield ("arms", i, "dose", "cap"), "the cap is below the amount itself"
        if dose.tolerance is not None and dose.tolerance_pct is not None:
            yield ("arms", i, "dose", "tolerance_pct"), "give tolerance or tolerance_pct, not both"


def _seen_by_blinded(arm: Arm) -> tuple[object, ...]:
    """What staff blinded to the arm see of its administrations: their number and times
    (hours after randomization, with their windows) and, for a product given in mL, the
    volume."""
    plan = arm.administrations
    times = (
        None
        if plan is None
        else (tuple(plan.start + h for h in plan.offsets_hours()), plan.start_window, plan.window)
    )
    dose = arm.dose
    volume = (dose.amount, dose.unit) if dose is not None and dose.unit in _VOLUME_UNITS else None
    return times, volume


def _blinding(p: Protocol) -> Iterator[Problem]:
    """In a double- (or triple-) blind trial every arm must look the same to blinded staff,
    unless the protocol declares the double-dummy that hides the difference (issue 16)."""
    if p.design.blinding not in ("double", "triple") or p.design.double_dummy:
        return
    first: tuple[int, Arm, tuple[object, ...]] | None = None
    for i, arm in enumerate(p.arms):
        if is_unknown(arm, "administrations"):
            continue
        seen = _seen_by_blinded(arm)
        if first is None:
            first = (i, arm, seen)
            continue
        _, ref, ref_seen = first
        if seen[0] != ref_seen[0]:
            yield (
                ("arms", i, "administrations"),
                f"a {p.design.blinding}-blind trial: arm {arm.id!r} is given on another "
                f"schedule than arm {ref.id!r} (number, times or windows of administrations), "
                "which blinded staff would see; give both the same schedule or declare "
                "design.double_dummy: true",
            )
        elif seen[1] is not None and ref_seen[1] is not None and seen[1] != ref_seen[1]:
            yield (
                ("arms", i, "dose"),
                f"a {p.design.blinding}-blind trial: arm {arm.id!r} is given in another volume "
                f"than arm {ref.id!r}, which blinded staff would see; give the same volume or "
                "declare design.double_dummy: true",
            )


def _visit_anchor_hours(p: Protocol) -> dict[str, int]:
    """Nominal start of the first administration after randomization (the earliest arm's)."""
    starts = [a.administrations.start for a in p.arms if a.administrations is not None]
    return {"randomization": 0, "first_administration": min(starts) if starts else 0}


def _schedule(p: Protocol) -> Iterator[Problem]:
    known = {m.code for m in p.measurements}
    offset = _visit_anchor_hours(p)
    previous: tuple[int, int, int, str] | None = None  # (nominal, earliest, latest, id)
    for i, v in enumerate(p.schedule.visits):
        for j, code in enumerate(v.measurements):
            if code not in known:
                yield (
                    ("schedule", "visits", i, "measurements", j),
                    f"{code!r} is not a measurement in the catalogue",
                )
        anchor_offset = offset[p.schedule.anchor_of(v)]
        nominal = v.at + anchor_offset
        earliest, latest = nominal + v.window[0], nominal + v.window[1]
        if previous is not None:
            p_nominal, _, p_latest, p_id = previous
            if nominal <= p_nominal:
                yield (
                    ("schedule", "visits", i, "at"),
                    f"visit {v.id!r} is not after visit {p_id!r}; list visits in time order",
                )
            elif earliest <= p_latest:
                yield (
                    ("schedule", "visits", i, "window"),
                    f"the window of visit {v.id!r} overlaps the window of visit {p_id!r}",
                )
        previous = (nominal, earliest, latest, v.id)


#: Within-participant analyses: they need the endpoint's baseline visit.
_NEEDS_BASELINE = frozenset({"wilcoxon_signed_rank", "paired_t_test", "percent_change"})


def _endpoints(p: Protocol) -> Iterator[Problem]:
    measurements = {m.code: m for m in p.measurements}
    events = {e.code for e in p.events}
    visits = {v.id for v in p.schedule.visits}
    windows = {w.id for w in p.safety.windows}
    for i, e in enumerate(p.endpoints):
        base: Path = ("endpoints", i)
        for j, code in enumerate(e.events):
            if code not in events:
                yield (*base, "events", j), f"{code!r} is not an event in the events catalogue"
        for j, code in enumerate(e.competing):
            if code not in events:
                yield (*base, "competing", j), f"{code!r} is not an event in the events catalogue"
        if e.measurement is not None and e.measurement not in measurements:
            yield (*base, "measurement"), f"{e.measurement!r} is not a measurement in the catalogue"
        for key in ("baseline_visit", "visit"):
            ref = getattr(e, key)
            if ref is not None and ref not in visits:
                yield (*base, key), f"{ref!r} is not a visit in the schedule"
        for j, w in enumerate(e.safety_windows):
            if w not in windows:
                yield (*base, "safety_windows", j), f"{w!r} is not a safety window"
        for j, method in enumerate(e.analysis):
            if method not in methods_for(e.type):
                yield (*base, "analysis", j), f"{method!r} does not analyse a {e.type} endpoint"
            elif method in _NEEDS_BASELINE and e.baseline_visit is None:
                yield (
                    (*base, "analysis", j),
                    f"{method!r} compares each participant's value with their baseline: "
                    "the endpoint needs a baseline_visit",
                )
        if e.type == "time_to_event":
            if not e.events:
                yield (*base, "events"), "a time-to-event endpoint names its event(s)"
            if e.censoring is None:
                yield (*base, "censoring"), "a time-to-event endpoint states its censoring rule"
            if e.horizon is None:
                yield (*base, "horizon"), "a time-to-event endpoint states its horizon"
            terminal = {ev.code for ev in p.events if ev.terminal}
            if (
                e.censoring is not None
                and e.censoring.death == "event"
                and terminal
                and not terminal & set(e.events)
            ):
                yield (
                    (*base, "censoring", "death"),
                    "'event' counts a death as this endpoint's event, but no terminal event "
                    f"({', '.join(sorted(terminal))}) is among its events; add it to events: "
                    "or choose censor_at_death, censor_at_horizon or competing",
                )
        if e.type == "binary" and not e.events and e.condition is None:
            yield base, "a binary endpoint is an event (events:) or a measurement condition"
        if e.type == "binary" and e.events and e.horizon is None and p.follow_up is None:
            yield (
                (*base, "horizon"),
                f"endpoint {e.id!r} counts {', '.join(e.events)} by a horizon, but it states "
                "none and the protocol's follow_up is unknown: give this endpoint a horizon "
                "(e.g. horizon: 28d) or the protocol a follow_up",
            )
        if e.type in ("continuous", "ordinal") and e.measurement is None:
            yield (*base, "measurement"), f"a {e.type} endpoint names its measurement"
        if e.condition is not None and e.measurement in measurements:
            m = measurements[e.measurement]
            problem = _condition_fits(e.condition, m.kind, m.level_codes)
            if problem:
                yield (*base, "condition"), problem


#: The cross-field checks, in the order :func:`check_protocol` runs them.
CHECKS: tuple[Callable[[Protocol], Iterator[Problem]], ...] = (
    _unique_ids,
    _allocation,
    _eligibility,
    _arms,
    _blinding,
    _schedule,
    _endpoints,
)
