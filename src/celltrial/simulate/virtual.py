"""A virtual trial: participants screened, randomized, dosed, followed, as a trial dataset or
as the time-ordered events site staff would enter in the EDC.

:func:`simulate_trial` goes straight to the trial dataset (SL, DM, DS, EX, AE, CE, DV and the
findings domains); :func:`simulate_events` yields the same trial as events (screening,
consent, randomization, infusion, measurement, adverse event, clinical event, deviation,
death, withdrawal, completion) in time order. Both come from one simulation, so for the same
generator state the two ways out describe the same participants.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from celltrial.allocation import (
    Factor,
    permuted_blocks,
    scheme_from_protocol,
    simple_randomization,
    strata_cells,
    stratified_blocks,
    stratum_label,
)
from celltrial.dataset import Dataset, make_dataset, stratum_column
from celltrial.dataset.schema import NOT_TREATED, catalogue, testcd_of
from celltrial.dataset.validate import check_subjects
from celltrial.protocol import Protocol, calendar
from celltrial.simulate.columnar import ColumnarTrial, simulate_columns, typed_tables
from celltrial.simulate.outcomes import DEATH, draw_outcomes
from celltrial.simulate.power import arm_sizes
from celltrial.simulate.scenario import Scenario, ScenarioError, check_scenario, follow_up_days
from celltrial.simulate.values import (
    Value,
    biomarker,
    can_fail,
    draw_level,
    natural_value,
    round_value,
    screening_values,
)

EventKind = Literal[
    "consent",
    "screening",
    "randomization",
    "infusion",
    "measurement",
    "adverse_event",
    "clinical_event",
    "deviation",
    "death",
    "withdrawal",
    "completion",
]
#: Order of events that happen at the same time (a consent before its screening, ...).
EVENT_ORDER: dict[str, int] = {k: i for i, k in enumerate(EventKind.__args__)}  # type: ignore[attr-defined]
DEVIATION_TERMS = (
    "Visit outside its window",
    "Sample not processed per protocol",
    "Consent form version outdated at enrolment",
    "Concomitant medication not allowed by the protocol",
    "Eligibility criterion not verified before randomization",
)


@dataclasses.dataclass(frozen=True)
class TrialEvent:
    """One thing that happened, as site staff would enter it.

    ``data`` holds the entry's fields (values at screening, the arm at randomization, the
    amount and lot of an infusion, a measurement's code, value and unit, an AE's fields …).
    """

    time: datetime
    kind: EventKind
    screening_id: str
    usubjid: str | None
    site: str
    data: dict[str, Any]


@dataclasses.dataclass
class _Build:
    rows: dict[str, list[dict[str, Any]]]
    events: list[TrialEvent]

    def add(self, code: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(code, []).append(row)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _start(scenario: Scenario) -> datetime:
    text = scenario.accrual.start.replace("Z", "+00:00")
    return datetime.fromisoformat(text).astimezone(UTC)


def _hours(h: float) -> timedelta:
    return timedelta(hours=math.floor(h))


def _assignments(
    protocol: Protocol, scenario: Scenario, strata: list[dict[str, str]], rng: np.random.Generator
) -> list[str]:
    """Arms of the randomized participants, in order, by the protocol's scheme (with the
    scenario's assumptions where the protocol says unknown)."""
    n = len(strata)
    arms = [a.id for a in protocol.arms]
    if protocol.design.assignment != "randomized":
        weights = [a.planned_n or 1 for a in protocol.arms]
        pattern = [
            arm for arm, k in zip(arms, arm_sizes(n, weights), strict=True) for _ in range(k)
        ]
        return [pattern[i] for i in rng.permutation(n)]
    scheme = scheme_from_protocol(
        protocol,
        method=scenario.allocation.method,
        ratio=scenario.allocation.ratio,
        block_sizes=scenario.allocation.block_sizes,
    )
    if scheme.method == "simple":
        return list(simple_randomization(n, ratio=scheme.ratio, rng=rng).arms)
    if scheme.method == "permuted_blocks":
        sizes = scheme.block_sizes or (scheme.ratio.total * 2,)
        return list(permuted_blocks(n, ratio=scheme.ratio, block_sizes=sizes, rng=rng).arms)[:n]
    if scheme.method == "stratified_blocks":
        factors: tuple[Factor, ...] = scheme.factors
        lists = stratified_blocks(
            n,
            strata=strata_cells(factors),
            ratio=scheme.ratio,
            block_sizes=scheme.block_sizes or (scheme.ratio.total * 2,),
            rng=rng,
        )
        used: dict[str, int] = {}
        out = []
        for values in strata:
            label = stratum_label(values, factors)
            k = used.get(label, 0)
            out.append(lists[label].arms[k])
            used[label] = k + 1
        return out
    raise ScenarioError(
        [f"allocation.method: {scheme.method} is not simulated; give simple or a block method"]
    )


def _lead(protocol: Protocol) -> int:
    """Hours from screening to randomization: the screening visit's offset, or 2."""
    screen_visit = next((v for v in protocol.schedule.visits if v.kind == "screening"), None)
    return -screen_visit.at if screen_visit is not None and screen_visit.at < 0 else 2


def _screen(
    protocol: Protocol, scenario: Scenario, n: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """People screened (in accrual order) until ``n`` would be randomized."""
    problems = check_scenario(scenario, protocol)
    if problems:
        raise ScenarioError(problems)
    if n < 1:
        raise ValueError(f"n: needs at least one participant, got {n}")
    t0 = _start(scenario)
    criteria = [c for c in protocol.population.eligibility or [] if can_fail(protocol, c)]
    factors = [s.factor for s in protocol.design.allocation.strata]
    fail_rate = scenario.screening.failure_rate
    per_hour = scenario.accrual.per_week / (1 - fail_rate) / (7 * 24)
    clock = 0.0
    people: list[dict[str, Any]] = []
    screened = 0
    randomized = 0  # a running count: re-summing the list each step made screening quadratic
    while randomized < n:
        screened += 1
        clock += rng.exponential(1 / per_hour)
        site = scenario.accrual.sites[int(rng.integers(len(scenario.accrual.sites)))]
        fails = rng.random() < fail_rate
        fail = criteria[int(rng.integers(len(criteria)))].id if fails and criteria else None
        values = screening_values(protocol, scenario, fail=fail, rng=rng)
        for code in ("age", "sex", "weight", *factors):
            if code not in values:
                values[code] = natural_value(protocol, scenario, code, rng)
        verdict = protocol.eligibility(values)
        eligible = not fails and verdict.eligible is not False
        declined = eligible and rng.random() < scenario.screening.declined_rate
        consent = t0 + _hours(clock)
        people.append(
            {
                "id": f"S-{screened:04d}",
                "site": site,
                "consent": consent,
                "screen": consent + timedelta(hours=1),
                "values": values,
                "failed": list(verdict.failed),
                "eligible": eligible,
                "randomized": eligible and not declined,
                "declined": declined,
            }
        )
        randomized += eligible and not declined
    return people


#: The last day a 64-bit nanosecond timestamp (pandas) holds, less a year for follow-up.
_LAST_CONSENT = datetime(2261, 4, 10, tzinfo=UTC)


def _check_calendar(protocol: Protocol, scenario: Scenario, people: list[dict[str, Any]]) -> None:
    """Refuse an accrual that would write dates the dataset cannot compute with (past 2262)."""
    follow = max((v.at for v in protocol.schedule.visits), default=0)
    last = people[-1]["consent"] + _hours(follow) if people else None
    if last is not None and last > _LAST_CONSENT:
        n = sum(p["randomized"] for p in people)
        raise ScenarioError(
            [
                f"accrual.per_week: {n} participants at {scenario.accrual.per_week:g} a week "
                f"enter until {last:%Y-%m-%d}, past the last date celltrial can compute with "
                "(2262-04-10, 64-bit nanoseconds); raise accrual.per_week or lower n"
            ]
        )


def _simulate(protocol: Protocol, scenario: Scenario, n: int, rng: np.random.Generator) -> _Build:
    people = _screen(protocol, scenario, n, rng)
    _check_calendar(protocol, scenario, people)
    build = _Build(rows={}, events=[])
    factors = [s.factor for s in protocol.design.allocation.strata]
    lead = _lead(protocol)
    randomized = [p for p in people if p["randomized"]]
    strata = [{f: str(p["values"][f]) for f in factors} for p in randomized]
    arms = _assignments(protocol, scenario, strata, rng)
    arm_ids = tuple(a.id for a in protocol.arms)
    index = np.array([[arm_ids.index(a) for a in arms]], dtype=np.int64)
    outcomes = draw_outcomes(protocol, scenario, index, arms=arm_ids, rng=rng)
    horizon = follow_up_days(scenario, protocol)
    for person in people:
        _screening_rows(protocol, build, person)
    code3 = "".join(ch for ch in protocol.id.upper() if ch.isalpha())[:3]
    for k, (person, arm_id) in enumerate(zip(randomized, arms, strict=True)):
        usubjid = f"{code3}-{person['site']}-{k + 1:03d}"
        person["usubjid"] = usubjid
        _participant(
            protocol,
            scenario,
            build,
            person,
            arm_id,
            {code: float(t[0, k]) for code, t in outcomes.observed.items()},
            float(outcomes.serious[0, k]),
            float(outcomes.end[0, k]),
            bool(outcomes.dropout[0, k]),
            horizon,
            lead,
            rng,
        )
    return build


def _screening_rows(protocol: Protocol, build: _Build, person: dict[str, Any]) -> None:
    sid, site = person["id"], person["site"]
    reason = None
    if not person["randomized"]:
        reason = "DECLINED" if person["declined"] else "NOT ELIGIBLE"
    build.events.append(TrialEvent(person["consent"], "consent", sid, None, site, {}))
    build.events.append(
        TrialEvent(
            person["screen"],
            "screening",
            sid,
            None,
            site,
            {
                "values": dict(person["values"]),
                "eligible": person["eligible"],
                "failed": list(person["failed"]),
                "declined": person["declined"],
            },
        )
    )
    person["sl"] = {
        "STUDYID": protocol.id,
        "SCRNID": sid,
        "SITEID": site,
        "SCRNDTC": _iso(person["screen"]),
        "ELIGFL": "Y" if person["eligible"] else "N",
        "FAILCRIT": ";".join(person["failed"]) or None,
        "RANDFL": "Y" if person["randomized"] else "N",
        "NRANDRS": reason,
        "USUBJID": None,
    }
    build.add("SL", person["sl"])


def _participant(
    protocol: Protocol,
    scenario: Scenario,
    build: _Build,
    person: dict[str, Any],
    arm_id: str,
    observed: dict[str, float],
    serious: float,
    end_day: float,
    dropped: bool,
    horizon: float,
    lead: int,
    rng: np.random.Generator,
) -> None:
    sid, site, usubjid = person["id"], person["site"], person["usubjid"]
    person["sl"]["USUBJID"] = usubjid
    values: dict[str, Value] = person["values"]
    arm = protocol.arm(arm_id)
    scenario.arms[arm_id]
    rand = person["screen"] + timedelta(hours=lead)
    weight = float(values["weight"])
    cal = calendar(protocol, rand, weight_kg=weight, arms=[arm_id])
    if cal.administrations:
        a1 = cal.administrations[0]
        span = int((a1.latest - a1.earliest).total_seconds() // 3600)
        first = a1.earliest + timedelta(hours=int(rng.integers(0, min(span, 6) + 1)))
    else:
        first = cal.first_administration
    death_day = observed.get(DEATH, math.inf)
    end = first + _hours(end_day * 24)
    died = math.isfinite(death_day)
    death = first + _hours(death_day * 24) if died else None

    def ev(t: datetime, kind: EventKind, **data: Any) -> None:
        build.events.append(TrialEvent(t, kind, sid, usubjid, site, data))

    strat = {f.factor: str(values[f.factor]) for f in protocol.design.allocation.strata}
    ev(rand, "randomization", arm=arm_id, strata=strat)
    seq: dict[str, int] = {}

    def nxt(code: str) -> int:
        seq[code] = seq.get(code, 0) + 1
        return seq[code]

    base = {"STUDYID": protocol.id, "USUBJID": usubjid}
    build.add(
        "DS",
        {
            **base,
            "DSSEQ": nxt("DS"),
            "DSTERM": "Informed consent obtained",
            "DSDECOD": "INFORMED CONSENT OBTAINED",
            "DSCAT": "PROTOCOL MILESTONE",
            "DSSTDTC": _iso(person["consent"]),
        },
    )
    build.add(
        "DS",
        {
            **base,
            "DSSEQ": nxt("DS"),
            "DSTERM": "Randomized",
            "DSDECOD": "RANDOMIZED",
            "DSCAT": "PROTOCOL MILESTONE",
            "DSSTDTC": _iso(rand),
        },
    )
    # Exposure
    given: list[datetime] = []
    amount_missing = arm.dose is None or arm.dose.amount is None
    unit = (
        arm.dose.counted_in
        if arm.dose is not None
        else ("cells" if arm.product.kind == "living_cells" else "mL")
    )
    for adm in cal.administrations:
        t = first if adm.number == 1 else first + timedelta(hours=adm.hours_from_first)
        deviated = adm.number > 1 and rng.random() < scenario.deviations.infusion_timing
        if deviated:
            window = int((adm.latest - adm.nominal).total_seconds() // 3600)
            t = t + timedelta(hours=window + int(rng.integers(2, 13)))
        if t >= end:
            break
        amount = adm.amount
        if amount_missing:
            if arm_id not in scenario.assumed_doses:
                raise ScenarioError(
                    [
                        f"assumed_doses.{arm_id}: the protocol's dose of {arm_id} is unknown; "
                        "give the amount the simulation should record"
                    ]
                )
            amount = scenario.assumed_doses[arm_id]
        assert amount is not None
        lot = f"{arm_id[:2].upper()}-{int(rng.integers(100, 1000))}"
        given.append(t)
        build.add(
            "EX",
            {
                **base,
                "EXSEQ": nxt("EX"),
                "EXTRT": arm_id,
                "EXDOSE": amount,
                "EXDOSU": unit,
                "EXPLDOS": amount,
                "EXSTDTC": _iso(t),
                "EXENDTC": _iso(t + timedelta(hours=1)),
                "EXLOT": lot,
                "EXNUM": adm.number,
                "EXDEVFL": "Y" if deviated else "N",
                "EXDEVRS": "Given outside its window" if deviated else None,
            },
        )
        ev(t, "infusion", number=adm.number, amount=amount, unit=unit, lot=lot, deviation=deviated)
        if deviated:
            build.add(
                "DV",
                {
                    **base,
                    "DVSEQ": nxt("DV"),
                    "DVTERM": f"Administration {adm.number} outside its window",
                    "DVCAT": "MINOR",
                    "DVSTDTC": _iso(t),
                },
            )
            ev(
                t,
                "deviation",
                term=f"Administration {adm.number} outside its window",
                category="MINOR",
            )
    # Measurements at visits
    _visits(
        protocol,
        scenario,
        build,
        person,
        arm_id,
        rand,
        first,
        end,
        dropped or died,
        horizon,
        nxt,
        ev,
        rng,
    )
    # Clinical events
    for code, day in sorted(observed.items()):
        if code == DEATH or not math.isfinite(day):
            continue
        t = first + _hours(day * 24)
        label = next((e.label for e in protocol.events if e.code == code), code)
        build.add(
            "CE", {**base, "CESEQ": nxt("CE"), "CETERM": label, "CEDECOD": code, "CESTDTC": _iso(t)}
        )
        ev(t, "clinical_event", event=code, label=label)
    # Adverse events
    _adverse_events(
        protocol, scenario, build, arm_id, given, first, end, serious, death, base, nxt, ev, rng
    )
    # Deviations
    for _ in range(int(rng.poisson(scenario.deviations.per_participant))):
        span = max((end - rand).total_seconds() / 3600, 1.0)
        t = rand + _hours(rng.random() * span)
        term = DEVIATION_TERMS[int(rng.integers(len(DEVIATION_TERMS)))]
        cat = "MAJOR" if rng.random() < scenario.deviations.major_share else "MINOR"
        build.add(
            "DV", {**base, "DVSEQ": nxt("DV"), "DVTERM": term, "DVCAT": cat, "DVSTDTC": _iso(t)}
        )
        ev(t, "deviation", term=term, category=cat)
    # Disposition
    if died:
        assert death is not None
        build.add(
            "DS",
            {
                **base,
                "DSSEQ": nxt("DS"),
                "DSTERM": "Death",
                "DSDECOD": "DEATH",
                "DSCAT": "DISPOSITION EVENT",
                "DSSTDTC": _iso(death),
            },
        )
        ev(death, "death")
    elif dropped:
        build.add(
            "DS",
            {
                **base,
                "DSSEQ": nxt("DS"),
                "DSTERM": "Withdrew consent",
                "DSDECOD": "WITHDRAWN",
                "DSCAT": "DISPOSITION EVENT",
                "DSSTDTC": _iso(end),
            },
        )
        ev(end, "withdrawal", reason="Withdrew consent")
    else:
        done = max([end, *person.get("last_visit", [])])
        build.add(
            "DS",
            {
                **base,
                "DSSEQ": nxt("DS"),
                "DSTERM": "Completed",
                "DSDECOD": "COMPLETED",
                "DSCAT": "DISPOSITION EVENT",
                "DSSTDTC": _iso(done),
            },
        )
        ev(done, "completion")
    treated = bool(given) or arm.administrations is None
    build.add(
        "DM",
        {
            **base,
            "SUBJID": usubjid.rsplit("-", 1)[-1],
            "SITEID": site,
            "AGE": values["age"],
            "SEX": values["sex"],
            "ARMCD": arm_id,
            "ARM": arm.label,
            "ACTARMCD": arm_id if treated else NOT_TREATED,
            "ACTARM": arm.label if treated else "Not treated",
            "RFICDTC": _iso(person["consent"]),
            "RANDDTC": _iso(rand),
            "RFSTDTC": _iso(given[0]) if given else None,
            "RFENDTC": _iso(given[-1]) if given else None,
            "DTHDTC": _iso(death) if death is not None else None,
            "DTHFL": "Y" if died else None,
            **{stratum_column(f): v for f, v in strat.items()},
        },
    )


def _visits(
    protocol: Protocol,
    scenario: Scenario,
    build: _Build,
    person: dict[str, Any],
    arm_id: str,
    rand: datetime,
    first: datetime,
    end: datetime,
    stopped: bool,
    horizon: float,
    nxt: Any,
    ev: Any,
    rng: np.random.Generator,
) -> None:
    usubjid = person["usubjid"]
    cat = {m.code: (d, tc) for (d, tc), m in catalogue(protocol).items()}
    base_log: dict[str, float] = {}
    last: list[datetime] = []
    bare: list[tuple[datetime, str, bool]] = []  # visits with nothing to measure
    for number, visit in enumerate(protocol.schedule.visits, start=1):
        anchor = rand if protocol.schedule.anchor_of(visit) == "randomization" else first
        if visit.kind == "screening":
            t = person["screen"]
        else:
            nominal = anchor + timedelta(hours=visit.at)
            lo, hi = visit.window
            t = nominal + timedelta(hours=int(rng.integers(lo, hi + 1)))
            if t <= person["consent"]:
                t = person["consent"] + timedelta(hours=1)
            limit = end if stopped else first + timedelta(hours=horizon * 24)
            if (stopped and t >= end) or (not stopped and nominal > limit):
                continue
        missed = (
            visit.kind not in ("screening", "baseline") and rng.random() < scenario.missed_visits
        )
        day = (t - first).total_seconds() / 86400
        measured: dict[str, Any] = {}
        for code in visit.measurements:
            if code not in cat:
                continue
            dom, testcd = cat[code]
            m = protocol.measurement(code)
            value: Value | None
            if missed:
                value = None
            elif visit.kind == "screening" and code in person["values"]:
                value = person["values"][code]
            elif m.kind in ("number", "integer"):
                spec = biomarker(scenario, m)
                if code not in base_log:
                    start = person["values"].get(code)
                    base_log[code] = (
                        math.log(float(start))
                        if isinstance(start, (int, float)) and float(start) > 0
                        else math.log(spec.median) + spec.sd_log * rng.standard_normal()
                    )
                x = base_log[code] + float(spec.mean_change(arm_id, max(day, 0.0)))
                x += spec.within_sd_log * rng.standard_normal()
                value = round_value(m, spec, math.exp(x))
            elif m.kind == "boolean":
                p = (
                    scenario.booleans[code].p(arm_id, visit.id)
                    if code in scenario.booleans
                    else 0.5
                )
                value = bool(rng.random() < p)
            elif m.kind in ("category", "ordinal"):
                value = draw_level(m.level_codes, scenario.categories.get(code), rng)
            else:
                continue
            text = (
                None
                if value is None
                else ("Y" if value is True else "N" if value is False else str(value))
            )
            pre = dom
            build.add(
                dom,
                {
                    "STUDYID": protocol.id,
                    "USUBJID": usubjid,
                    f"{pre}SEQ": nxt(dom),
                    f"{pre}TESTCD": testcd,
                    f"{pre}TEST": m.label,
                    f"{pre}ORRES": text,
                    f"{pre}ORRESU": m.unit if text is not None else None,
                    f"{pre}STAT": "NOT DONE" if text is None else None,
                    f"{pre}REASND": "Visit missed" if text is None else None,
                    f"{pre}SPEC": m.specimen.upper() if m.specimen else None,
                    f"{pre}DTC": _iso(t),
                    "VISIT": visit.id,
                    "VISITNUM": number,
                },
            )
            measured[code] = value
        if measured:
            last.append(t)
            ev(t, "measurement", visit=visit.id, values=measured, missed=missed)
        elif visit.kind != "screening":
            bare.append((t, visit.id, missed))
    person["last_visit"] = last
    # A visit with nothing to measure (the second infusion's day …) is still done at the site:
    # an event with no values, so that a driver records it (the EDC would call it overdue).
    # Only up to the participant's end, so that it never moves the disposition's date.
    done = max([end, *last])
    for t, visit_id, missed in bare:
        if t <= done:
            ev(t, "measurement", visit=visit_id, values={}, missed=missed)


def _adverse_events(
    protocol: Protocol,
    scenario: Scenario,
    build: _Build,
    arm_id: str,
    given: list[datetime],
    first: datetime,
    end: datetime,
    serious: float,
    death: datetime | None,
    base: dict[str, Any],
    nxt: Any,
    ev: Any,
    rng: np.random.Generator,
) -> None:
    spec = scenario.arms[arm_id].adverse_events
    experimental = protocol.arm(arm_id).role == "experimental"
    windows = [w.duration for w in protocol.safety.windows]
    span = max((end - first).total_seconds() / 3600, 0.0)
    entries: list[tuple[datetime, int, bool, str, str]] = []

    def grade(dist: dict[int, float]) -> int:
        keys = sorted(dist)
        return int(keys[int(rng.choice(len(keys), p=np.array([dist[k] for k in keys])))])

    for _ in range(int(rng.poisson(spec.rate * span / 24))):
        t = first + _hours(rng.random() * span)
        entries.append(
            (t, grade(spec.grades), False, spec.terms[int(rng.integers(len(spec.terms)))], "N")
        )
    for t_inf in given:
        if windows and rng.random() < spec.per_administration:
            t = t_inf + _hours(rng.random() * min(windows))
            if t < end:
                entries.append((t, grade(spec.grades), False, "Infusion-related reaction", "I"))
    if math.isfinite(serious):
        t = first + _hours(serious * 24)
        term = spec.serious_terms[int(rng.integers(len(spec.serious_terms)))]
        entries.append((t, grade(spec.serious_grades), True, term, "S"))
    if death is not None and spec.fatal_at_death:
        term = (
            "Respiratory failure"
            if "Respiratory failure" in spec.serious_terms
            else spec.serious_terms[0]
        )
        entries.append((death, 5, True, term, "D"))
    for t, g, ser, term, kind in sorted(entries, key=lambda e: e[0]):
        if death is not None and t > death:
            continue
        related = "POSSIBLY RELATED" if kind == "I" and experimental else "NOT RELATED"
        if kind == "I" and not experimental:
            related = "UNLIKELY RELATED"
        stop = t + timedelta(hours=int(rng.integers(2, 97)))
        if death is not None and kind != "D":
            stop = min(stop, death)
        row = {
            **base,
            "AESEQ": nxt("AE"),
            "AETERM": term,
            "AEDECOD": term,
            "AESTDTC": _iso(t),
            "AEENDTC": _iso(stop if kind != "D" else t),
            "AETOXGR": g,
            "AESER": "Y" if ser else "N",
            "AEREL": related,
            "AEOUT": "FATAL" if kind == "D" else "RECOVERED/RESOLVED",
            "AESDTH": "Y" if kind == "D" else "N",
            "AESLIFE": "Y" if ser and g == 4 else "N",
            "AESHOSP": "Y" if ser and g == 3 else "N",
            "AESDISAB": "N",
            "AESCONG": "N",
            "AESMIE": "N",
        }
        build.add("AE", row)
        ev(t, "adverse_event", **{k: v for k, v in row.items() if k not in base})


def _frames(protocol: Protocol, build: _Build) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    for code, rows in build.rows.items():
        out[code] = pd.DataFrame(rows)
    for code in ("AE", "CE", "DV", "EX"):
        out.setdefault(code, pd.DataFrame())
    return out


def simulate_trial(
    protocol: Protocol, scenario: Scenario, *, n: int, rng: np.random.Generator
) -> Dataset:
    """Simulate a trial of ``n`` randomized participants straight to the trial dataset.

    Every draw is made for all participants at once and the tables are built as columns
    (:func:`celltrial.simulate.columnar.simulate_columns`); the model is the per-person one of
    :func:`screen_candidates` and :func:`participant_events`, drawn in another order. The
    tables are typed column by column (:func:`~celltrial.simulate.columnar.typed_tables`, the
    same tables as :func:`~celltrial.dataset.make_dataset` gives, tested), or by
    ``make_dataset`` when one of its checks could apply.

    Parameters
    ----------
    protocol : Protocol
    scenario : Scenario
        Checked against the protocol first (:func:`check_scenario`).
    n : int
        Participants to randomize; more are screened (some fail screening).
    rng : numpy.random.Generator

    Returns
    -------
    Dataset
        SL, DM, DS, EX, AE, CE, DV and the findings domains of the protocol's measurements.

    Examples
    --------
    >>> import numpy as np
    >>> from celltrial.protocol import load_protocol
    >>> from celltrial.simulate import load_scenario, simulate_trial
    >>> p = load_protocol("lanzoni2021")
    >>> ds = simulate_trial(p, load_scenario("lanzoni2021", p), n=24, rng=np.random.default_rng(1))
    >>> len(ds.dm)
    24
    """
    raw = simulate_columns(protocol, scenario, n=n, rng=rng).tables()
    typed = typed_tables(raw)
    if typed is None:  # something make_dataset would report on: its checks, cell by cell
        return make_dataset(raw)
    return Dataset(tables=typed, problems=tuple(check_subjects(typed)))


def simulate_events(
    protocol: Protocol, scenario: Scenario, *, n: int, rng: np.random.Generator
) -> Iterator[TrialEvent]:
    """The same virtual trial as :func:`simulate_trial`, as events in time order (ties in the
    order consent, screening, randomization, infusion, measurement, …)."""
    trial = simulate_columns(protocol, scenario, n=n, rng=rng, events=True)
    events = _events_of(protocol, trial)
    yield from sorted(events, key=lambda e: (e.time, e.screening_id, EVENT_ORDER[e.kind]))


def _py(v: Any) -> Any:
    """A numpy scalar as the Python value the per-person simulator writes."""
    return v.item() if isinstance(v, np.generic) else v


def _events_of(protocol: Protocol, trial: ColumnarTrial) -> list[TrialEvent]:
    """The events of a columnar trial (one Python object per event: for small trials)."""
    at = trial.clock.at
    people = trial.screened
    out: list[TrialEvent] = []
    codes = list(people.values)
    for i in range(len(people)):
        sid, site = str(trial.screening_ids[i]), str(trial.screened_sites[i])
        consent = at(int(people.consent[i]))
        failed = people.failed[i]
        out.append(TrialEvent(consent, "consent", sid, None, site, {}))
        out.append(
            TrialEvent(
                consent + timedelta(hours=1),
                "screening",
                sid,
                None,
                site,
                {
                    "values": {c: people.values[c][i] for c in codes if people.present[c][i]},
                    "eligible": bool(people.eligible[i]),
                    "failed": failed.split(";") if failed else [],
                    "declined": bool(people.declined[i]),
                },
            )
        )
    who = trial.randomized_index
    usubjid = trial.usubjid
    dm = trial.raw["DM"]

    def ident(p: int) -> tuple[str, str, str]:
        j = int(who[p])
        return str(trial.screening_ids[j]), str(usubjid[p]), str(trial.screened_sites[j])

    def add(p: int, h: int, kind: EventKind, **data: Any) -> None:
        sid, uid, site = ident(p)
        out.append(TrialEvent(at(h), kind, sid, uid, site, data))

    for p, h in zip(dm["_p"].tolist(), dm["_h"].tolist(), strict=True):
        add(
            p,
            h,
            "randomization",
            arm=trial.arm_ids[trial.arm[p]],
            strata={f: str(v[p]) for f, v in trial.strata.items()},
        )
    ex = trial.raw["EX"]
    for row in ex.to_dict("records") if len(ex.columns) else []:
        add(
            row["_p"],
            row["_h"],
            "infusion",
            number=_py(row["EXNUM"]),
            amount=_py(row["EXDOSE"]),
            unit=row["EXDOSU"],
            lot=row["EXLOT"],
            deviation=row["EXDEVFL"] == "Y",
        )
    dv = trial.raw["DV"]
    for row in dv.to_dict("records") if len(dv.columns) else []:
        add(row["_p"], row["_h"], "deviation", term=row["DVTERM"], category=row["DVCAT"])
    ce = trial.raw["CE"]
    for row in ce.to_dict("records") if len(ce.columns) else []:
        add(row["_p"], row["_h"], "clinical_event", event=row["CEDECOD"], label=row["CETERM"])
    ae = trial.raw["AE"]
    for row in ae.to_dict("records") if len(ae.columns) else []:
        data = {k: _py(v) for k, v in row.items() if not k.startswith("_")}
        data.pop("STUDYID"), data.pop("USUBJID")
        add(row["_p"], row["_h"], "adverse_event", **data)
    for row in trial.raw["DS"].to_dict("records"):
        if row["DSDECOD"] == "DEATH":
            add(row["_p"], row["_h"], "death")
        elif row["DSDECOD"] == "WITHDRAWN":
            add(row["_p"], row["_h"], "withdrawal", reason="Withdrew consent")
        elif row["DSDECOD"] == "COMPLETED":
            add(row["_p"], row["_h"], "completion")
    # A visit's values (every findings domain, in the order of the visit's measurements).
    visits: dict[tuple[int, int], tuple[int, bool, dict[str, Any]]] = {}
    order = {
        (number, code): k
        for number, v in enumerate(protocol.schedule.visits, start=1)
        for k, code in enumerate(v.measurements)
    }
    found = [df for code, df in trial.raw.items() if "_code" in df.columns]
    if found:
        rows = pd.concat([df[["_p", "_h", "VISITNUM", "_code", "_val", "_missed"]] for df in found])
        rows["_k"] = [
            order[(int(a), c)] for a, c in zip(rows["VISITNUM"], rows["_code"], strict=True)
        ]
        rows = rows.sort_values(["_p", "VISITNUM", "_k"], kind="stable")
        for p, h, number, code, val, missed in zip(
            rows["_p"].tolist(),
            rows["_h"].tolist(),
            rows["VISITNUM"].tolist(),
            rows["_code"].tolist(),
            rows["_val"].tolist(),
            rows["_missed"].tolist(),
            strict=True,
        ):
            entry = visits.setdefault((p, int(number)), (h, bool(missed), {}))
            entry[2][code] = val
    for (p, number), (h, missed, values) in visits.items():
        add(
            p,
            h,
            "measurement",
            visit=protocol.schedule.visits[number - 1].id,
            values=values,
            missed=missed,
        )
    bare = trial.bare
    for p, h, visit, missed in zip(
        bare["_p"].tolist(),
        bare["_h"].tolist(),
        bare["visit"].tolist(),
        bare["missed"].tolist(),
        strict=True,
    ):
        add(int(p), int(h), "measurement", visit=visit, values={}, missed=bool(missed))
    return out


def _per_person_tables(
    protocol: Protocol, scenario: Scenario, *, n: int, rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    """The virtual trial of the per-person simulator (participant by participant, as the EDC
    rehearsal draws it) as raw tables: the reference the columnar simulator is compared with
    (``tests/simulate/test_columnar.py``)."""
    build = _simulate(protocol, scenario, n, rng)
    tables = _frames(protocol, build)
    return {k: v for k, v in tables.items() if len(v.columns)}


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A virtual person up to randomization: what a site knows before the arm is drawn.

    ``randomized`` says whether the person, eligible and consenting, would be randomized;
    ``randomize_at`` is when (screening plus the screening visit's lead time).
    """

    screening_id: str
    site: str
    consent_at: datetime
    screened_at: datetime
    randomize_at: datetime
    values: dict[str, Value]
    failed: list[str]
    eligible: bool
    declined: bool
    randomized: bool

    def strata(self, protocol: Protocol) -> dict[str, str]:
        return {f.factor: str(self.values[f.factor]) for f in protocol.design.allocation.strata}


def screen_candidates(
    protocol: Protocol, scenario: Scenario, *, n: int, rng: np.random.Generator
) -> list[Candidate]:
    """People screened in accrual order until ``n`` would be randomized (the pre-randomization
    half of :func:`simulate_trial`: screening values, eligibility, consent, weight, strata).

    With :func:`participant_events`, a driver that lets another system (the EDC) assign the
    arm draws each participant's outcomes after the arm is known.
    """
    lead = _lead(protocol)
    return [
        Candidate(
            screening_id=p["id"],
            site=p["site"],
            consent_at=p["consent"],
            screened_at=p["screen"],
            randomize_at=p["screen"] + timedelta(hours=lead),
            values=dict(p["values"]),
            failed=list(p["failed"]),
            eligible=p["eligible"],
            declined=p["declined"],
            randomized=p["randomized"],
        )
        for p in _screen(protocol, scenario, n, rng)
    ]


def participant_events(
    protocol: Protocol,
    scenario: Scenario,
    candidate: Candidate,
    arm: str,
    *,
    usubjid: str,
    rng: np.random.Generator,
) -> list[TrialEvent]:
    """Everything after randomization for one participant given ``arm``: infusions,
    measurements at visits (the screening visit's values included), clinical events, adverse
    events, deviations and the disposition (death, withdrawal or completion), in time order.

    Outcomes are drawn from the scenario's hazards for ``arm`` (:func:`draw_outcomes`, as in
    :func:`simulate_trial`), so the arm may come from anywhere, e.g. an EDC's sealed list.
    """
    arm_ids = tuple(a.id for a in protocol.arms)
    if arm not in arm_ids:
        raise ValueError(f"arm: {arm!r} is not an arm of {protocol.id} ({', '.join(arm_ids)})")
    outcomes = draw_outcomes(
        protocol,
        scenario,
        np.array([[arm_ids.index(arm)]], dtype=np.int64),
        arms=arm_ids,
        rng=rng,
    )
    person: dict[str, Any] = {
        "id": candidate.screening_id,
        "site": candidate.site,
        "consent": candidate.consent_at,
        "screen": candidate.screened_at,
        "values": dict(candidate.values),
        "usubjid": usubjid,
        "sl": {},
    }
    build = _Build(rows={}, events=[])
    lead = int((candidate.randomize_at - candidate.screened_at).total_seconds() // 3600)
    _participant(
        protocol,
        scenario,
        build,
        person,
        arm,
        {code: float(t[0, 0]) for code, t in outcomes.observed.items()},
        float(outcomes.serious[0, 0]),
        float(outcomes.end[0, 0]),
        bool(outcomes.dropout[0, 0]),
        follow_up_days(scenario, protocol),
        lead,
        rng,
    )
    events = [e for e in build.events if e.kind != "randomization"]
    return sorted(events, key=lambda e: (e.time, EVENT_ORDER[e.kind]))


def testcd(protocol: Protocol, code: str) -> str:
    """The test code a measurement is stored under."""
    return testcd_of(protocol.measurement(code))
