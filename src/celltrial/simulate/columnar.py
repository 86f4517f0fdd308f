"""The virtual trial drawn for all participants at once: numpy arrays per kind of event,
the dataset's tables built as columns.

The model is the one of the per-person simulator (:mod:`celltrial.simulate.virtual`, whose
``screen_candidates`` and ``participant_events`` the EDC rehearsal uses): the same screening,
eligibility, allocation, calendar, hazards (:func:`~celltrial.simulate.outcomes.draw_outcomes`),
visits, values, adverse events, deviations and disposition. Only the order of the draws differs:
each draw is made once per kind for every participant who needs it (all consents, then all
sites, ..., all day-6 visit times, all IL-6 values at day 6, ...), not person by person, so the
same seed gives another (equally likely) trial. ``tests/simulate/test_columnar.py`` compares the
two simulators' distributions over many seeds.

Times are whole hours after the scenario's accrual start (int64), written as ISO 8601 once per
distinct hour. Text columns are object arrays whose cells share one Python string per distinct
value (a code, a label, a date), so a table of a million rows holds a million pointers, not a
million strings.

Cost: O(n log n) (sorting the rows of each table by participant); at 100,000 participants the
draws and columns take a few seconds (see ``bench/pipeline.py``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from celltrial.allocation import (
    Ratio,
    check_block_sizes,
    scheme_from_protocol,
    simple_randomization,
    stratum_label,
)
from celltrial.dataset.schema import (
    ALL_DOMAINS,
    NOT_TREATED,
    STRATUM_PREFIX,
    catalogue,
    domain,
    stratum_column,
)
from celltrial.protocol import CalendarError, Criterion, Measurement, Protocol, calendar
from celltrial.simulate.outcomes import DEATH, draw_outcomes
from celltrial.simulate.power import arm_sizes
from celltrial.simulate.scenario import Scenario, ScenarioError, check_scenario, follow_up_days
from celltrial.simulate.values import _candidates, biomarker, can_fail

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
Objects = NDArray[np.object_]

#: The last day a 64-bit nanosecond timestamp (pandas) holds, less a year for follow-up.
LAST_CONSENT = datetime(2261, 4, 10, tzinfo=UTC)
DEVIATION_TERMS = (
    "Visit outside its window",
    "Sample not processed per protocol",
    "Consent form version outdated at enrolment",
    "Concomitant medication not allowed by the protocol",
    "Eligibility criterion not verified before randomization",
)


def _objects(values: Sequence[Any]) -> Objects:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _pick(choices: Sequence[Any], index: NDArray[Any]) -> Objects:
    """``choices[index]`` as an object array sharing the choices' objects."""
    return _objects(choices)[np.asarray(index, dtype=np.int64)]


def _full(value: Any, n: int) -> Objects:
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def _either(cond: NDArray[np.bool_], yes: Any, no: Any) -> Objects:
    """``yes`` where ``cond``, else ``no`` (scalars or arrays), as objects shared by cells."""
    out = _full(no, len(cond)) if not isinstance(no, np.ndarray) else no.astype(object)
    out[cond] = yes[cond] if isinstance(yes, np.ndarray) else yes
    return out


def _texts(values: NDArray[Any], show: Callable[[Any], str | None] = str) -> Objects:
    """``show(v)`` for each value, computed once per distinct value."""
    if len(values) == 0:
        return np.empty(0, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    shown = _objects([show(u) for u in np.asarray(uniques, dtype=object).tolist()])
    out: Objects = shown[codes]
    return out


def _value_text(v: Any) -> str | None:
    if v is None:
        return None
    if v is True:
        return "Y"
    if v is False:
        return "N"
    return str(v)


class _Clock:
    """Whole hours after the accrual start, written as ``YYYY-MM-DDTHH:MMZ``."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.origin = np.datetime64(start.astimezone(UTC).replace(tzinfo=None), "m")
        self._lut: Objects | None = None
        self._lo = 0

    def iso(self, hours: NDArray[Any], present: Bools | None = None) -> Objects:
        """ISO 8601 text of each hour (None where not ``present``), one string per distinct
        hour, shared by every cell that holds it."""
        h = np.asarray(hours).astype(np.int64)
        if present is not None:
            h = np.where(present, h, -1)
        keep = h >= 0
        if not keep.any():
            return np.full(len(h), None, dtype=object)
        lo, hi = int(h[keep].min()), int(h.max())
        covered = self._lut is not None and self._lo <= lo and hi < self._lo + len(self._lut) - 1
        if not covered:
            if self._lut is not None:
                lo, hi = min(lo, self._lo), max(hi, self._lo + len(self._lut) - 2)
            if hi - lo > 4 * len(h):  # sparse hours: format only the distinct ones
                u, inv = np.unique(h[keep], return_inverse=True)
                sparse = np.full(len(h), None, dtype=object)
                sparse[keep] = self._format(u)[inv]
                return sparse
            self._lut = _objects([*self._format(np.arange(lo, hi + 1)).tolist(), None])
            self._lo = lo
        assert self._lut is not None
        index = np.where(keep, h - self._lo, len(self._lut) - 1)
        out: Objects = self._lut[index]
        return out

    def _format(self, hours: Ints) -> Objects:
        stamps = self.origin + (hours * 60).astype("timedelta64[m]")
        text: Objects = np.datetime_as_string(stamps, unit="m", timezone="UTC").astype(object)
        return text

    def at(self, hours: int) -> datetime:
        return self.start + timedelta(hours=int(hours))


# --------------------------------------------------------------------------------------------
# Values drawn for many people at once
# --------------------------------------------------------------------------------------------


def _round_many(m: Measurement, decimals: int, x: Floats) -> NDArray[Any]:
    if m.range is not None:
        x = np.clip(x, m.range[0], m.range[1])
    if m.kind == "integer" or decimals == 0:
        return np.rint(x).astype(np.int64)
    return np.round(x, decimals)


def _levels(
    levels: list[str], dist: dict[str, float] | None, k: int, rng: np.random.Generator
) -> Objects:
    if dist:
        keys = list(dist)
        return _pick(keys, rng.choice(len(keys), size=k, p=np.array([dist[x] for x in keys])))
    return _pick(levels, rng.integers(len(levels), size=k))


def _normal_many(spec: Any, k: int, rng: np.random.Generator) -> Floats:
    x = spec.mean + spec.sd * rng.standard_normal(k)
    if spec.low is not None:
        x = np.maximum(x, spec.low)
    if spec.high is not None:
        x = np.minimum(x, spec.high)
    return np.asarray(x, dtype=np.float64)


def _natural(
    protocol: Protocol, scenario: Scenario, code: str, k: int, rng: np.random.Generator
) -> NDArray[Any]:
    """``k`` values of ``code`` drawn from the scenario (as ``values.natural_value``)."""
    demo = scenario.demographics
    if code == "age":
        return np.rint(_normal_many(demo.age, k, rng)).astype(np.int64)
    if code == "sex":
        return _either(rng.random(k) < demo.female, "F", "M")
    if code == "weight":
        return np.round(_normal_many(demo.weight, k, rng), 1)
    strata = {s.factor: s for s in protocol.design.allocation.strata}
    if code in strata:
        return _levels(strata[code].levels, scenario.strata.get(code), k, rng)
    try:
        m = protocol.measurement(code)
    except KeyError:
        return rng.random(k) < 0.5
    if m.kind in ("number", "integer"):
        spec = biomarker(scenario, m)
        x = spec.median * np.exp(spec.sd_log * rng.standard_normal(k))
        return _round_many(m, spec.decimals, x)
    if m.kind == "boolean":
        spec_b = scenario.booleans.get(code)
        p = spec_b.p(next(iter(spec_b.probability)), "") if spec_b is not None else 0.5
        return rng.random(k) < p
    if m.kind in ("category", "ordinal"):
        return _levels(m.level_codes, scenario.categories.get(code), k, rng)
    return _full("", k)


def _satisfied(c: Criterion, values: Objects, present: Bools) -> Objects:
    """``c.satisfied`` of each person's value (None where absent), once per distinct value."""
    out = np.full(len(values), None, dtype=object)
    if present.any():
        var = c.variable or c.id
        out[present] = _texts(values[present], lambda v: c.satisfied({var: v}))  # type: ignore[arg-type,return-value]
    return out


@dataclasses.dataclass
class _Screened:
    """Everyone screened, in accrual order (arrays of the same length)."""

    consent: Ints
    site: Ints
    values: dict[str, Objects]
    present: dict[str, Bools]
    failed: Objects  # "a;b" or None
    failed_ids: list[tuple[str, ...]]
    eligible: Bools
    declined: Bools

    @property
    def randomized(self) -> Bools:
        return self.eligible & ~self.declined

    def __len__(self) -> int:
        return len(self.consent)

    def take(self, k: int) -> _Screened:
        return _Screened(
            consent=self.consent[:k],
            site=self.site[:k],
            values={c: v[:k] for c, v in self.values.items()},
            present={c: v[:k] for c, v in self.present.items()},
            failed=self.failed[:k],
            failed_ids=self.failed_ids,
            eligible=self.eligible[:k],
            declined=self.declined[:k],
        )

    @staticmethod
    def join(parts: list[_Screened]) -> _Screened:
        if len(parts) == 1:
            return parts[0]
        codes = list(dict.fromkeys(c for p in parts for c in p.values))

        def cat(get: Callable[[_Screened], NDArray[Any]]) -> NDArray[Any]:
            return np.concatenate([get(p) for p in parts])

        return _Screened(
            consent=cat(lambda p: p.consent),
            site=cat(lambda p: p.site),
            values={
                c: cat(lambda p, c=c: p.values.get(c, np.full(len(p), None, object)))  # type: ignore[misc]
                for c in codes
            },
            present={
                c: cat(lambda p, c=c: p.present.get(c, np.zeros(len(p), bool)))  # type: ignore[misc]
                for c in codes
            },
            failed=cat(lambda p: p.failed),
            failed_ids=parts[0].failed_ids,
            eligible=cat(lambda p: p.eligible),
            declined=cat(lambda p: p.declined),
        )


def _screen_chunk(
    protocol: Protocol, scenario: Scenario, k: int, clock0: float, rng: np.random.Generator
) -> tuple[_Screened, float]:
    """``k`` more people screened after ``clock0`` hours (the model of ``virtual._screen``)."""
    fail_rate = scenario.screening.failure_rate
    per_hour = scenario.accrual.per_week / (1 - fail_rate) / (7 * 24)
    clock = clock0 + np.cumsum(rng.exponential(1 / per_hour, size=k))
    consent = np.floor(clock).astype(np.int64)
    site = rng.integers(len(scenario.accrual.sites), size=k)
    fails = rng.random(k) < fail_rate
    can = [c for c in protocol.population.eligibility or [] if can_fail(protocol, c)]
    fail_at = (
        np.where(fails, rng.integers(len(can), size=k), -1) if can else np.full(k, -1, np.int64)
    )
    criteria = protocol.population.eligibility or []
    by_var: dict[str, list[Criterion]] = {}
    for c in criteria:
        by_var.setdefault(c.variable or c.id, []).append(c)
    values: dict[str, Objects] = {}
    present: dict[str, Bools] = {}
    for var, cs in by_var.items():
        # Which of this variable's criteria each person must fail (-1: none).
        pos = np.full(k, -1, dtype=np.int64)
        for j, c in enumerate(can):
            if c in cs:
                pos[fail_at == j] = cs.index(c)
        values[var], present[var] = _screen_variable(protocol, scenario, var, cs, pos, rng)
    factors = [s.factor for s in protocol.design.allocation.strata]
    for code in ("age", "sex", "weight", *factors):
        have = present.get(code, np.zeros(k, bool))
        need = np.flatnonzero(~have)
        if len(need):
            col = values.get(code, np.full(k, None, dtype=object))
            col[need] = _objects(_natural(protocol, scenario, code, len(need), rng).tolist())
            values[code], present[code] = col, np.ones(k, bool)
    # The protocol's verdict on the values (as Protocol.eligibility, once per distinct value).
    failed_bits = np.zeros(k, dtype=np.int64)
    for i, c in enumerate(criteria):
        var = c.variable or c.id
        sat = _satisfied(
            c, values.get(var, np.full(k, None, object)), present.get(var, np.zeros(k, bool))
        )
        failed_bits |= np.where([x is False for x in sat], 1 << i, 0)
    ids = [c.id for c in criteria]
    failed = _texts(
        failed_bits, lambda b: ";".join(x for i, x in enumerate(ids) if b >> i & 1) or None
    )
    verdict_false = failed_bits != 0
    eligible = ~fails & ~verdict_false
    # An unanswered criterion (no value) does not make a person ineligible, as in _screen.
    declined = eligible & (rng.random(k) < scenario.screening.declined_rate)
    screened = _Screened(
        consent=consent,
        site=site,
        values=values,
        present=present,
        failed=failed,
        failed_ids=[tuple(ids)],
        eligible=eligible,
        declined=declined,
    )
    return screened, float(clock[-1]) if k else clock0


def _screen_variable(
    protocol: Protocol,
    scenario: Scenario,
    var: str,
    cs: list[Criterion],
    pos: Ints,
    rng: np.random.Generator,
) -> tuple[Objects, Bools]:
    """Values of ``var`` for which every criterion in ``cs`` holds except, for a person with
    ``pos >= 0``, criterion ``cs[pos]`` (as ``values.screening_values``: natural draws redrawn
    up to 60 times, then a value from the candidates)."""
    k = len(pos)
    out = np.full(k, None, dtype=object)
    chosen = np.zeros(k, bool)

    def fits(v: Any, p: int) -> bool:
        return all(c.satisfied({c.variable or c.id: v}) == (i != p) for i, c in enumerate(cs))

    m: Measurement | None = None
    if cs[0].variable is not None:
        try:
            m = protocol.measurement(var)
        except KeyError:
            m = None
        pending = np.arange(k)
        for _ in range(60):
            if not len(pending):
                break
            drawn = _objects(_natural(protocol, scenario, var, len(pending), rng).tolist())
            codes, uniques = pd.factorize(drawn, use_na_sentinel=False)
            uniq = np.asarray(uniques, dtype=object).tolist()
            groups = np.unique(pos[pending])
            table = {int(g): np.array([fits(u, int(g)) for u in uniq], bool) for g in groups}
            ok = np.zeros(len(pending), bool)
            for g, good_u in table.items():
                mine = pos[pending] == g
                ok[mine] = good_u[codes[mine]]
            out[pending[ok]] = drawn[ok]
            chosen[pending[ok]] = True
            pending = pending[~ok]
    rest = np.flatnonzero(~chosen)
    for g in np.unique(pos[rest]):
        members = rest[pos[rest] == g]
        pool: list[Any] = []
        for i, c in enumerate(cs):
            want = i != g
            hold = want if c.kind == "inclusion" else not want
            pool.extend(_candidates(c, m, hold))
        good = [v for v in pool if fits(v, int(g))]
        if not good:
            continue
        pick = rng.integers(len(good), size=len(members))
        finals: list[Any] = []
        for v in good:
            if isinstance(v, float) and m is not None:
                spec = biomarker(scenario, m)
                r = _round_many(m, spec.decimals, np.array([v])).tolist()[0]
                v = r if fits(r, int(g)) else good[0]
            finals.append(v)
        out[members] = _pick(finals, pick)
        chosen[members] = True
    return out, chosen


def _screen_all(
    protocol: Protocol, scenario: Scenario, n: int, rng: np.random.Generator
) -> _Screened:
    """People screened in accrual order until ``n`` are randomized (drawn in chunks)."""
    p = (1 - scenario.screening.failure_rate) * (1 - scenario.screening.declined_rate)
    parts: list[_Screened] = []
    clock = 0.0
    got = 0
    while got < n:
        k = math.ceil((n - got) / max(p, 1e-3) * 1.05) + 16
        part, clock = _screen_chunk(protocol, scenario, k, clock, rng)
        parts.append(part)
        new = int(part.randomized.sum())
        screened = sum(len(x) for x in parts)
        if got + new == 0 and screened >= 100_000:
            raise ScenarioError(
                [
                    f"screening: none of {screened:,} people screened was eligible and "
                    "consented; check screening.failure_rate, declined_rate and the "
                    "eligibility rules"
                ]
            )
        got += new
    people = _Screened.join(parts)
    last = int(np.flatnonzero(people.randomized)[n - 1])
    return people.take(last + 1)


# --------------------------------------------------------------------------------------------
# Arms
# --------------------------------------------------------------------------------------------


def _blocks(n: int, ratio: Ratio, sizes: Sequence[int], rng: np.random.Generator) -> Ints:
    """Permuted blocks (sizes mixed uniformly) for ``n`` positions, as ratio arm indices: the
    model of ``allocation.permuted_blocks``, every block's order uniformly random."""
    sizes = check_block_sizes(sizes, ratio)
    m = n // min(sizes) + 1
    bs = (
        np.asarray(sizes)[rng.integers(len(sizes), size=m)]
        if len(sizes) > 1
        else np.full(m, sizes[0])
    )
    cum = np.cumsum(bs)
    nb = int(np.searchsorted(cum, n)) + 1
    bs, cum = bs[:nb], cum[:nb]
    total = int(cum[-1])
    block = np.repeat(np.arange(nb), bs)
    pos = np.arange(total) - np.repeat(cum - bs, bs)
    scale = np.repeat(bs // ratio.total, bs)
    content = np.searchsorted(np.cumsum(ratio.weights), pos // scale, side="right")
    order = np.lexsort((rng.random(total), block))
    out: Ints = content[order][:n].astype(np.int64)
    return out


def _assign(
    protocol: Protocol,
    scenario: Scenario,
    strata: dict[str, Objects],
    n: int,
    rng: np.random.Generator,
) -> Ints:
    """Arm index (into ``protocol.arms``) of each randomized participant, in order."""
    arms = [a.id for a in protocol.arms]
    if protocol.design.assignment != "randomized":
        weights = [a.planned_n or 1 for a in protocol.arms]
        pattern = np.repeat(np.arange(len(arms)), arm_sizes(n, weights))
        return pattern[rng.permutation(n)].astype(np.int64)
    scheme = scheme_from_protocol(
        protocol,
        method=scenario.allocation.method,
        ratio=scenario.allocation.ratio,
        block_sizes=scenario.allocation.block_sizes,
    )
    to_arm = np.array([arms.index(a) for a in scheme.ratio.arms], dtype=np.int64)
    sizes = scheme.block_sizes or (scheme.ratio.total * 2,)
    if scheme.method == "simple":
        names = simple_randomization(n, ratio=scheme.ratio, rng=rng).arms
        index = {a: i for i, a in enumerate(arms)}
        return np.array([index[a] for a in names], dtype=np.int64)
    if scheme.method == "permuted_blocks":
        return to_arm[_blocks(n, scheme.ratio, sizes, rng)]
    if scheme.method == "stratified_blocks":
        factors = scheme.factors
        if factors:
            combo = pd.DataFrame({f.name: strata[f.name] for f in factors})
            codes, uniques = pd.factorize(pd.MultiIndex.from_frame(combo.astype(str)))
            labels = [
                stratum_label(dict(zip([f.name for f in factors], u, strict=True)), factors)
                for u in uniques
            ]
        else:
            codes, labels = np.zeros(n, np.int64), ["all"]
        out = np.empty(n, dtype=np.int64)
        for i, _label in enumerate(labels):
            members = np.flatnonzero(codes == i)
            out[members] = to_arm[_blocks(len(members), scheme.ratio, sizes, rng)]
        return out
    raise ScenarioError(
        [f"allocation.method: {scheme.method} is not simulated; give simple or a block method"]
    )


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


class _Rows:
    """Blocks of rows of one table, each for some participants; sorted by participant (and a
    key within a participant) at the end, with the sequence number counted per participant."""

    def __init__(self) -> None:
        self.blocks: list[tuple[Ints, NDArray[Any], dict[str, Any]]] = []

    def add(self, person: Ints, key: NDArray[Any] | float, **cols: Any) -> None:
        person = np.asarray(person, dtype=np.int64)
        if len(person) == 0:
            return
        keys = np.broadcast_to(np.asarray(key, dtype=np.float64), person.shape)
        self.blocks.append((person, keys, cols))

    def frame(self, seq: str | None) -> pd.DataFrame:
        if not self.blocks:
            return pd.DataFrame()
        person = np.concatenate([b[0] for b in self.blocks])
        keys = np.concatenate([b[1] for b in self.blocks])
        names = list(dict.fromkeys(c for b in self.blocks for c in b[2]))
        order = np.lexsort((np.arange(len(person)), keys, person))
        data: dict[str, Any] = {}
        lengths = [len(b[0]) for b in self.blocks]
        for name in names:
            given = [cols.get(name) for _, _, cols in self.blocks]
            if not any(isinstance(v, np.ndarray) for v in given):
                # One value per block: codes, reordered, then one object array of shared values.
                values = list(dict.fromkeys(given))
                codes = np.repeat(np.array([values.index(v) for v in given]), lengths)
                data[name] = _pick(values, codes[order])
                continue
            parts = [
                v if isinstance(v, np.ndarray) else _full(v, k)
                for v, k in zip(given, lengths, strict=True)
            ]
            col = np.concatenate(parts) if len(parts) > 1 else parts[0]
            if col.dtype.kind in "US":
                col = col.astype(object)
            data[name] = col[order]
        person = person[order]
        if seq is not None:
            starts = np.r_[0, np.flatnonzero(np.diff(person)) + 1]
            counts = np.diff(np.r_[starts, len(person)])
            data[seq] = np.arange(len(person)) - np.repeat(starts, counts) + 1
        data["_p"] = person
        return pd.DataFrame(data, copy=False)


@dataclasses.dataclass
class ColumnarTrial:
    """The virtual trial as tables (raw, before :func:`celltrial.dataset.make_dataset`), with
    internal columns ``_p`` (participant, or ``_s`` screened person) and ``_h`` (hours after
    the accrual start) that :func:`events` reads; :meth:`tables` drops them."""

    raw: dict[str, pd.DataFrame]
    clock: _Clock
    screened: _Screened
    screening_ids: Objects
    screened_sites: Objects
    randomized_index: Ints
    usubjid: Objects
    sites: Objects
    arm: Ints
    arm_ids: tuple[str, ...]
    strata: dict[str, Objects]
    bare: pd.DataFrame
    lead: int

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {}
        for code, df in self.raw.items():
            if len(df.columns):
                out[code] = df[[c for c in df.columns if not c.startswith("_")]]
        return out


def _lead(protocol: Protocol) -> int:
    screen_visit = next((v for v in protocol.schedule.visits if v.kind == "screening"), None)
    return -screen_visit.at if screen_visit is not None and screen_visit.at < 0 else 2


def _start(scenario: Scenario) -> datetime:
    text = scenario.accrual.start.replace("Z", "+00:00")
    return datetime.fromisoformat(text).astimezone(UTC)


def _hours(x: Floats) -> Floats:
    """Whole hours of ``x`` days (as ``virtual._hours``: floored)."""
    return np.floor(x * 24)


def simulate_columns(
    protocol: Protocol,
    scenario: Scenario,
    *,
    n: int,
    rng: np.random.Generator,
    events: bool = False,
) -> ColumnarTrial:
    """Simulate a trial of ``n`` randomized participants, every draw for all at once.

    ``events`` keeps what :func:`celltrial.simulate.simulate_events` needs besides the tables
    (each value as drawn, the visits with nothing to measure).
    """
    problems = check_scenario(scenario, protocol)
    if problems:
        raise ScenarioError(problems)
    if n < 1:
        raise ValueError(f"n: needs at least one participant, got {n}")
    start = _start(scenario)
    clock = _Clock(start)
    people = _screen_all(protocol, scenario, n, rng)
    follow = max((v.at for v in protocol.schedule.visits), default=0)
    last = clock.at(int(people.consent[-1]) + follow)
    if last > LAST_CONSENT:
        raise ScenarioError(
            [
                f"accrual.per_week: {n} participants at {scenario.accrual.per_week:g} a week "
                f"enter until {last:%Y-%m-%d}, past the last date celltrial can compute with "
                "(2262-04-10, 64-bit nanoseconds); raise accrual.per_week or lower n"
            ]
        )
    k_screened = len(people)
    site_names = _objects(list(scenario.accrual.sites))
    sites_all = site_names[people.site]
    screening_ids = _objects([f"S-{i:04d}" for i in range(1, k_screened + 1)])
    rand_people = np.flatnonzero(people.randomized)
    factors = [s.factor for s in protocol.design.allocation.strata]
    strata = {f: _texts(people.values[f][rand_people], str) for f in factors}
    arm = _assign(protocol, scenario, strata, n, rng)
    arm_ids = tuple(a.id for a in protocol.arms)
    outcomes = draw_outcomes(protocol, scenario, arm[None, :], arms=arm_ids, rng=rng)
    horizon = follow_up_days(scenario, protocol)
    lead = _lead(protocol)
    code3 = "".join(ch for ch in protocol.id.upper() if ch.isalpha())[:3]
    sites = sites_all[rand_people]
    usubjid = _objects([f"{code3}-{s}-{k + 1:03d}" for k, s in enumerate(sites.tolist())])
    consent = people.consent[rand_people]
    screen = consent + 1
    rand = screen + lead
    values = {c: v[rand_people] for c, v in people.values.items()}
    present = {c: v[rand_people] for c, v in people.present.items()}
    raw: dict[str, _Rows] = {code: _Rows() for code in ("DS", "EX", "AE", "CE", "DV")}
    sid = protocol.id

    # SL: everyone screened.
    usub_screened = np.full(k_screened, None, dtype=object)
    usub_screened[rand_people] = usubjid
    reason = _either(people.declined, "DECLINED", "NOT ELIGIBLE")
    reason[people.randomized] = None
    sl = pd.DataFrame(
        {
            "STUDYID": _full(sid, k_screened),
            "SCRNID": screening_ids,
            "SITEID": sites_all,
            "SCRNDTC": clock.iso(people.consent + 1),
            "ELIGFL": _either(people.eligible, "Y", "N"),
            "FAILCRIT": people.failed,
            "RANDFL": _either(people.randomized, "Y", "N"),
            "NRANDRS": reason,
            "USUBJID": usub_screened,
            "_s": np.arange(k_screened),
            "_h": people.consent + 1,
        },
        copy=False,
    )

    # The calendar of each arm (the same hours after randomization for everyone).
    weight = values["weight"].astype(np.float64)
    bad = ~np.isfinite(weight) | (weight < 1) | (weight > 500)
    if bad.any():
        raise CalendarError(f"weight: {weight[np.argmax(bad)]!r} kg is outside 1–500 kg")
    ref = datetime(2000, 1, 1, tzinfo=UTC)

    def off(t: datetime) -> int:
        return int((t - ref).total_seconds() // 3600)

    first = np.empty(n, dtype=np.int64)
    cals = {}
    for a, arm_id in enumerate(arm_ids):
        mine = np.flatnonzero(arm == a)
        cal = calendar(protocol, ref, weight_kg=70.0, arms=[arm_id])
        cals[arm_id] = cal
        if cal.administrations:
            a1 = cal.administrations[0]
            span = off(a1.latest) - off(a1.earliest)
            first[mine] = (
                rand[mine] + off(a1.earliest) + rng.integers(0, min(span, 6) + 1, size=len(mine))
            )
        else:
            first[mine] = rand[mine] + off(cal.first_administration)
    end = first + _hours(outcomes.end[0]).astype(np.int64)
    death_day = outcomes.observed.get(DEATH, np.full((1, n), np.inf))[0]
    died = np.isfinite(death_day)
    death = np.where(died, first + np.where(died, _hours(death_day), 0), -1).astype(np.int64)
    dropped = outcomes.dropout[0].astype(bool)
    stopped = dropped | died

    # DS milestones.
    ix = np.arange(n)
    ds = raw["DS"]
    ds.add(
        ix,
        0,
        DSTERM="Informed consent obtained",
        DSDECOD="INFORMED CONSENT OBTAINED",
        DSCAT="PROTOCOL MILESTONE",
        _h=consent,
    )
    ds.add(ix, 1, DSTERM="Randomized", DSDECOD="RANDOMIZED", DSCAT="PROTOCOL MILESTONE", _h=rand)

    # Exposure.
    ex, dv = raw["EX"], raw["DV"]
    given_first = np.full(n, -1, dtype=np.int64)
    given_last = np.full(n, -1, dtype=np.int64)
    given_any = np.zeros(n, bool)
    given_times: list[tuple[Ints, Ints]] = []  # (person, hour) of each administration given
    for a, arm_id in enumerate(arm_ids):
        p_arm = protocol.arm(arm_id)
        mine = np.flatnonzero(arm == a)
        adms = cals[arm_id].administrations
        if not len(mine) or not adms:
            continue
        missing_amount = p_arm.dose is None or p_arm.dose.amount is None
        unit = (
            p_arm.dose.counted_in
            if p_arm.dose is not None
            else ("cells" if p_arm.product.kind == "living_cells" else "mL")
        )
        dose = p_arm.dose
        going = np.ones(len(mine), bool)
        lot_names = _objects([f"{arm_id[:2].upper()}-{x}" for x in range(100, 1000)])
        for adm in adms:
            t = first[mine] + (0 if adm.number == 1 else adm.hours_from_first)
            deviated = np.zeros(len(mine), bool)
            if adm.number > 1:
                deviated = rng.random(len(mine)) < scenario.deviations.infusion_timing
                window = off(adm.latest) - off(adm.nominal)
                t = t + np.where(deviated, window + rng.integers(2, 13, size=len(mine)), 0)
            going &= t < end[mine]
            if not going.any():
                break
            who = mine[going]
            tg, dg = t[going], deviated[going]
            if missing_amount:
                if arm_id not in scenario.assumed_doses:
                    raise ScenarioError(
                        [
                            f"assumed_doses.{arm_id}: the protocol's dose of {arm_id} is unknown; "
                            "give the amount the simulation should record"
                        ]
                    )
                amount: Any = scenario.assumed_doses[arm_id]
            elif dose is not None and dose.per_kg:
                amount = dose.amount * weight[who]  # type: ignore[operator]
                if dose.cap is not None:
                    amount = np.minimum(amount, dose.cap)
            else:
                amount = adm.amount
            lot = lot_names[rng.integers(0, 900, size=len(who))]
            ex.add(
                who,
                adm.number,
                EXTRT=arm_id,
                EXDOSE=amount,
                EXDOSU=unit,
                EXPLDOS=amount,
                EXLOT=lot,
                EXNUM=adm.number,
                EXDEVFL=_either(dg, "Y", "N"),
                EXDEVRS=_either(dg, "Given outside its window", None),
                _h=tg,
            )
            term = f"Administration {adm.number} outside its window"
            dv.add(who[dg], adm.number, DVTERM=term, DVCAT="MINOR", _h=tg[dg])
            given_times.append((who, tg))
            given_first[who] = np.where(given_any[who], given_first[who], tg)
            given_last[who] = tg
            given_any[who] = True

    # Measurements at visits.
    cat = {m.code: (d, tc) for (d, tc), m in catalogue(protocol).items()}
    findings: dict[str, _Rows] = {}
    base_log: dict[str, Floats] = {}
    last_visit = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    bare_rows: list[pd.DataFrame] = []
    for number, visit in enumerate(protocol.schedule.visits, start=1):
        if visit.kind == "screening":
            who = ix
            t = screen
        else:
            anchor = rand if protocol.schedule.anchor_of(visit) == "randomization" else first
            nominal = anchor + visit.at
            lo, hi = visit.window
            t_all = nominal + rng.integers(lo, hi + 1, size=n)
            t_all = np.where(t_all <= consent, consent + 1, t_all)
            skip = (stopped & (t_all >= end)) | (~stopped & (nominal > first + horizon * 24))
            who = ix[~skip]
            t = t_all[~skip]
        missed = np.zeros(len(who), bool)
        if visit.kind not in ("screening", "baseline"):
            missed = rng.random(len(who)) < scenario.missed_visits
        day = (t - first[who]) / 24.0
        has_row = np.zeros(len(who), bool)
        values_at: dict[str, Objects] = {}
        for code in visit.measurements:
            if code not in cat:
                continue
            dom, testcd = cat[code]
            m = protocol.measurement(code)
            row = missed.copy()  # a missed visit's rows are NOT DONE
            value = np.full(len(who), None, dtype=object)
            text = np.full(len(who), None, dtype=object)
            from_screen = np.zeros(len(who), bool)
            if visit.kind == "screening" and code in values:
                from_screen = ~missed & present[code][who]
                value[from_screen] = values[code][who][from_screen]
                text[from_screen] = _texts(value[from_screen], _value_text)
                row |= from_screen
            draw = np.flatnonzero(~missed & ~from_screen)
            if m.kind in ("number", "integer"):
                spec = biomarker(scenario, m)
                if code not in base_log:
                    z = spec.sd_log * rng.standard_normal(n)
                    b = math.log(spec.median) + z
                    if code in values:
                        # From the screening value where it is a positive number.
                        usable = _texts(
                            values[code],
                            lambda v: isinstance(v, (int, float)) and float(v) > 0,  # type: ignore[arg-type,return-value]
                        )
                        ok = present[code] & (usable == True)  # noqa: E712 (object array)
                        if ok.any():
                            b[ok] = np.log(values[code][ok].astype(np.float64))
                    base_log[code] = b
                p_draw = who[draw]
                change = np.zeros(len(draw))
                for a, arm_id in enumerate(arm_ids):
                    sel = arm[p_draw] == a
                    if sel.any():
                        change[sel] = spec.mean_change(arm_id, np.maximum(day[draw][sel], 0.0))
                x = base_log[code][p_draw] + change
                x = x + spec.within_sd_log * rng.standard_normal(len(draw))
                v = _round_many(m, spec.decimals, np.exp(x))
                text[draw] = _texts(v)
                if events:
                    value[draw] = _objects(v.tolist())
                row[draw] = True
            elif m.kind == "boolean":
                p_draw = who[draw]
                prob = np.full(len(draw), 0.5)
                if code in scenario.booleans:
                    b_spec = scenario.booleans[code]
                    probs = np.array([b_spec.p(arm_id, visit.id) for arm_id in arm_ids])
                    prob = probs[arm[p_draw]]
                yes = rng.random(len(draw)) < prob
                text[draw] = _either(yes, "Y", "N")
                if events:
                    value[draw] = _objects(yes.tolist())
                row[draw] = True
            elif m.kind in ("category", "ordinal"):
                lv = _levels(m.level_codes, scenario.categories.get(code), len(draw), rng)
                text[draw] = lv
                value[draw] = lv
                row[draw] = True
            if not row.any():
                continue
            has_row |= row
            r = np.flatnonzero(row)
            done = text[r] != None  # noqa: E711 (object array)
            pre = dom
            findings.setdefault(dom, _Rows()).add(
                who[r],
                number * 1000 + len(values_at),
                **{
                    f"{pre}TESTCD": testcd,
                    f"{pre}TEST": m.label,
                    f"{pre}ORRES": text[r],
                    f"{pre}ORRESU": _either(done, m.unit, None),
                    f"{pre}STAT": _either(done, None, "NOT DONE"),
                    f"{pre}REASND": _either(done, None, "Visit missed"),
                    f"{pre}SPEC": m.specimen.upper() if m.specimen else None,
                    "VISIT": visit.id,
                    "VISITNUM": number,
                    "_h": t[r],
                    **({"_code": code, "_val": value[r], "_missed": missed[r]} if events else {}),
                },
            )
            values_at[code] = value
        with_rows = who[has_row]
        last_visit[with_rows] = np.maximum(last_visit[with_rows], t[has_row])
        if events and visit.kind != "screening":
            no = ~has_row
            bare_rows.append(
                pd.DataFrame({"_p": who[no], "_h": t[no], "visit": visit.id, "missed": missed[no]})
            )

    # Clinical events.
    ce = raw["CE"]
    for j, (code, days) in enumerate(sorted(outcomes.observed.items())):
        if code == DEATH:
            continue
        d = days[0]
        who = np.flatnonzero(np.isfinite(d))
        label = next((e.label for e in protocol.events if e.code == code), code)
        ce.add(who, j, CETERM=label, CEDECOD=code, _h=first[who] + _hours(d[who]).astype(np.int64))

    # Adverse events.
    _adverse_events(
        protocol,
        scenario,
        raw["AE"],
        arm,
        arm_ids,
        first,
        end,
        died,
        death,
        outcomes.serious[0],
        given_times,
        rng,
    )

    # Deviations drawn over the participation (after those of the infusions).
    count = rng.poisson(scenario.deviations.per_participant, size=n)
    who = np.repeat(ix, count)
    span = np.maximum(end - rand, 1).astype(np.float64)[who]
    t_dv = rand[who] + np.floor(rng.random(len(who)) * span).astype(np.int64)
    term_dv = _pick(DEVIATION_TERMS, rng.integers(len(DEVIATION_TERMS), size=len(who)))
    major = rng.random(len(who)) < scenario.deviations.major_share
    dv.add(
        who,
        100 + np.arange(len(who)),
        DVTERM=term_dv,
        DVCAT=_either(major, "MAJOR", "MINOR"),
        _h=t_dv,
    )

    # Disposition.
    done_at = np.maximum(end, last_visit)
    withdrawn = ~died & dropped
    completed = ~died & ~dropped
    w = np.flatnonzero(died)
    ds.add(w, 2, DSTERM="Death", DSDECOD="DEATH", DSCAT="DISPOSITION EVENT", _h=death[w])
    w = np.flatnonzero(withdrawn)
    ds.add(
        w, 2, DSTERM="Withdrew consent", DSDECOD="WITHDRAWN", DSCAT="DISPOSITION EVENT", _h=end[w]
    )
    w = np.flatnonzero(completed)
    ds.add(w, 2, DSTERM="Completed", DSDECOD="COMPLETED", DSCAT="DISPOSITION EVENT", _h=done_at[w])

    # DM.
    no_adm = np.array([protocol.arm(a).administrations is None for a in arm_ids])
    treated = given_any | no_adm[arm]
    arm_code = _objects(list(arm_ids))[arm]
    labels = _objects([protocol.arm(a).label for a in arm_ids])[arm]
    dm = pd.DataFrame(
        {
            "STUDYID": _full(sid, n),
            "USUBJID": usubjid,
            "SUBJID": _texts(np.arange(1, n + 1), lambda k: f"{k:03d}"),
            "SITEID": sites,
            "AGE": values["age"],
            "SEX": values["sex"],
            "ARMCD": arm_code,
            "ARM": labels,
            "ACTARMCD": _either(treated, arm_code, NOT_TREATED),
            "ACTARM": _either(treated, labels, "Not treated"),
            "RFICDTC": clock.iso(consent),
            "RANDDTC": clock.iso(rand),
            "RFSTDTC": clock.iso(given_first, given_any),
            "RFENDTC": clock.iso(given_last, given_any),
            "DTHDTC": clock.iso(death, died),
            "DTHFL": _either(died, "Y", None),
            **{stratum_column(f): v for f, v in strata.items()},
            "_p": ix,
            "_h": rand,
        },
        copy=False,
    )

    frames: dict[str, pd.DataFrame] = {"SL": sl, "DM": dm}
    for code, rows in [*raw.items(), *findings.items()]:
        frames[code] = rows.frame(f"{code}SEQ")
    for code, df in frames.items():
        if not len(df.columns) or code in ("SL", "DM"):
            continue
        df.insert(0, "STUDYID", _full(sid, len(df)))
        df.insert(1, "USUBJID", usubjid[df["_p"].to_numpy()])
        h = df["_h"].to_numpy()
        if code == "DS":
            df["DSSTDTC"] = clock.iso(h)
        elif code == "EX":
            df["EXSTDTC"] = clock.iso(h)
            df["EXENDTC"] = clock.iso(h + 1)
        elif code == "AE":
            df["AESTDTC"] = clock.iso(h)
            df["AEENDTC"] = clock.iso(df.pop("_end").to_numpy())
        elif code in ("CE", "DV"):
            df[f"{code}STDTC"] = clock.iso(h)
        else:
            df[f"{code}DTC"] = clock.iso(h)
    bare = (
        pd.concat(bare_rows, ignore_index=True)
        if bare_rows
        else pd.DataFrame({"_p": [], "_h": [], "visit": [], "missed": []})
    )
    if len(bare):
        keep = bare["_h"].to_numpy() <= done_at[bare["_p"].to_numpy().astype(np.int64)]
        bare = bare[keep]
    for code in ("AE", "CE", "DV", "EX"):
        frames.setdefault(code, pd.DataFrame())
    return ColumnarTrial(
        raw=frames,
        clock=clock,
        screened=people,
        screening_ids=screening_ids,
        screened_sites=sites_all,
        randomized_index=rand_people,
        usubjid=usubjid,
        sites=sites,
        arm=arm,
        arm_ids=arm_ids,
        strata=strata,
        bare=bare,
        lead=lead,
    )


def _adverse_events(
    protocol: Protocol,
    scenario: Scenario,
    ae: _Rows,
    arm: Ints,
    arm_ids: tuple[str, ...],
    first: Ints,
    end: Ints,
    died: Bools,
    death: Ints,
    serious: Floats,
    given: list[tuple[Ints, Ints]],
    rng: np.random.Generator,
) -> None:
    """AEs of every participant (the model of ``virtual._adverse_events``): non-serious ones
    over follow-up, infusion-associated ones in the first safety window, the first non-fatal
    SAE, a fatal SAE at death; in time order per participant, none after death."""
    windows = [w.duration for w in protocol.safety.windows]
    span = np.maximum(end - first, 0).astype(np.float64)
    who_given = np.concatenate([g[0] for g in given]) if given else np.zeros(0, np.int64)
    t_given = np.concatenate([g[1] for g in given]) if given else np.zeros(0, np.int64)
    for a, arm_id in enumerate(arm_ids):
        spec = scenario.arms[arm_id].adverse_events
        experimental = protocol.arm(arm_id).role == "experimental"
        mine = np.flatnonzero(arm == a)
        if not len(mine):
            continue

        def grades(dist: dict[int, float], k: int) -> Ints:
            keys = sorted(dist)
            probs = np.array([dist[x] for x in keys])
            return np.array(keys, dtype=np.int64)[rng.choice(len(keys), size=k, p=probs)]

        parts: list[dict[str, Any]] = []
        count = rng.poisson(spec.rate * span[mine] / 24)
        who = np.repeat(mine, count)
        t = first[who] + np.floor(rng.random(len(who)) * span[who]).astype(np.int64)
        parts.append(
            {
                "p": who,
                "t": t,
                "g": grades(spec.grades, len(who)),
                "kind": 0,
                "term": _pick(spec.terms, rng.integers(len(spec.terms), size=len(who))),
            }
        )
        if windows:
            sel = arm[who_given] == a
            wg, tg = who_given[sel], t_given[sel]
            hit = rng.random(len(wg)) < spec.per_administration
            wg, tg = wg[hit], tg[hit]
            t = tg + np.floor(rng.random(len(wg)) * min(windows)).astype(np.int64)
            keep = t < end[wg]
            wg, t = wg[keep], t[keep]
            parts.append(
                {
                    "p": wg,
                    "t": t,
                    "g": grades(spec.grades, len(wg)),
                    "kind": 1,
                    "term": "Infusion-related reaction",
                }
            )
        s_day = serious[mine]
        ws = mine[np.isfinite(s_day)]
        t = first[ws] + _hours(serious[ws]).astype(np.int64)
        parts.append(
            {
                "p": ws,
                "t": t,
                "g": grades(spec.serious_grades, len(ws)),
                "kind": 2,
                "term": _pick(
                    spec.serious_terms, rng.integers(len(spec.serious_terms), size=len(ws))
                ),
            }
        )
        if spec.fatal_at_death:
            wd = mine[died[mine]]
            term = (
                "Respiratory failure"
                if "Respiratory failure" in spec.serious_terms
                else spec.serious_terms[0]
            )
            parts.append(
                {
                    "p": wd,
                    "t": death[wd],
                    "g": np.full(len(wd), 5, np.int64),
                    "kind": 3,
                    "term": term,
                }
            )
        for part in parts:
            p, t, kind = part["p"], part["t"], part["kind"]
            keep = ~(died[p] & (t > death[p]))
            p, t, g = p[keep], t[keep], part["g"][keep]
            term = part["term"][keep] if isinstance(part["term"], np.ndarray) else part["term"]
            if not len(p):
                continue
            stop = t + rng.integers(2, 97, size=len(p))
            # Ended by death (a fatal AE ends when it starts).
            stop = np.where(died[p], np.minimum(stop, death[p]), stop) if kind != 3 else t
            ser = kind >= 2
            if kind == 1:
                related = "POSSIBLY RELATED" if experimental else "UNLIKELY RELATED"
            else:
                related = "NOT RELATED"
            fatal = kind == 3
            ae.add(
                p,
                # in time order; ties in the order non-serious, infusion, serious, fatal
                t.astype(np.float64) * 8 + kind,
                AETERM=term,
                AEDECOD=term,
                AETOXGR=g,
                AESER="Y" if ser else "N",
                AEREL=related,
                AEOUT="FATAL" if fatal else "RECOVERED/RESOLVED",
                AESDTH="Y" if fatal else "N",
                AESLIFE=_either(ser & (g == 4), "Y", "N"),
                AESHOSP=_either(ser & (g == 3), "Y", "N"),
                AESDISAB="N",
                AESCONG="N",
                AESMIE="N",
                _h=t,
                _end=stop,
            )


# --------------------------------------------------------------------------------------------
# Typed tables without a check per cell
# --------------------------------------------------------------------------------------------


def typed_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame] | None:
    """The tables :func:`celltrial.dataset.make_dataset` would give for the simulator's raw
    tables, typed column by column (no Python step per cell), or None when a check that
    ``make_dataset`` would report on could apply (a missing required or expected column, a
    column outside the schema, a value outside a column's terms, a missing required value):
    the caller then runs ``make_dataset``.

    The simulator writes clean values (ISO text in canonical form, codes from the schema's
    terms, numbers as numbers), which is what lets the per-cell checks go;
    ``tests/simulate/test_columnar.py`` checks that the result equals ``make_dataset``'s, with
    no problem, on the five seed protocols.
    """
    out: dict[str, pd.DataFrame] = {}
    for code, raw in tables.items():
        if code not in ALL_DOMAINS:
            return None
        dom = domain(code)
        n = len(raw)
        data: dict[str, Any] = {}
        for col in dom.columns:
            if col.name not in raw:
                if col.need != "perm":
                    return None
                if col.type == "integer":
                    data[col.name] = pd.array([None] * n, dtype="Int64")
                elif col.type == "number":
                    data[col.name] = np.full(n, np.nan)
                else:
                    data[col.name] = _full(None, n)
                continue
            v = raw[col.name].to_numpy()
            if col.type == "integer":
                typed: Any = pd.array(v, dtype="Int64")
            elif col.type == "number":
                typed = v.astype(np.float64)
            else:
                typed = v if v.dtype == object else v.astype(object)
                allowed = ("Y", "N") if col.type == "flag" else col.terms
                if allowed is not None:
                    uniques = pd.unique(typed)
                    if any(u is not None and u not in allowed for u in uniques):
                        return None
            if col.need == "req" and pd.isna(typed).any():
                return None
            data[col.name] = typed
        extra = [c for c in raw.columns if c not in dom.names]
        if any(not (code == "DM" and c.startswith(STRATUM_PREFIX)) for c in extra):
            return None
        for c in extra:
            data[c] = raw[c].to_numpy().astype(object)
        if dom.findings:
            orres = pd.Series(data[f"{code}ORRES"], copy=False)
            stresn = pd.Series(data[f"{code}STRESN"], dtype="float64")
            data[f"{code}STRESN"] = stresn.where(
                stresn.notna(), pd.to_numeric(orres, errors="coerce")
            ).to_numpy(dtype=np.float64)
            stresc = pd.Series(data[f"{code}STRESC"], dtype=object)
            data[f"{code}STRESC"] = stresc.where(stresc.notna(), orres).to_numpy(dtype=object)
        out[code] = pd.DataFrame(data, copy=False)
    return out
