"""Descriptive summaries: CONSORT flow counts, baseline table, exposure, safety, listings."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import numpy as np
import pandas as pd

from celltrial._result import Result
from celltrial.analysis.descriptive import mean_sd, quartiles
from celltrial.analysis.populations import describe
from celltrial.analysis.results import POOLED, POOLED_LABEL
from celltrial.analysis.trial import Trial
from celltrial.dataset import baseline_column, times

Counts = tuple[tuple[str, int], ...]


def _counted(values: list[str]) -> Counts:
    return tuple(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))


# --- CONSORT --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ConsortArm(Result):
    """One arm's column of the CONSORT flow diagram (participants by arm as randomized)."""

    arm: str
    label: str
    allocated: int
    received: int
    not_received: Counts
    lost_to_follow_up: int
    discontinued: int
    discontinued_reasons: Counts
    completed: int
    analysed: int
    excluded: Counts
    #: Still in follow-up (no end-of-study disposition yet: a trial in progress).
    ongoing: int = 0
    #: Deaths (DTHFL), by arm as randomized: the same participants as the safety table's
    #: deaths plus any who died before being dosed (not in the safety population).
    deaths: int = 0


@dataclasses.dataclass(frozen=True)
class Consort(Result):
    """CONSORT 2025 flow counts. ``screened`` and the screening counts are None without SL."""

    screened: int | None
    ineligible: int | None
    ineligible_reasons: Counts
    not_randomized: Counts
    randomized: int
    arms: tuple[ConsortArm, ...]
    pooled: ConsortArm
    analysis_population: str


def consort(trial: Trial) -> Consort:
    """The CONSORT flow: screened, eligible, randomized, treated, followed, analysed.

    Every allocated participant is in one follow-up box: lost to follow-up, discontinued
    (death included), completed, or ongoing — still in follow-up while the trial runs (ADSL
    ``EOSSTT`` = ONGOING), so a live flow adds up (issue 15). A participant not dosed is
    "never dosed" once the participant has left the study, "not dosed yet" while still in
    follow-up (randomized in a live trial, the first dose to come)."""
    dataset, protocol, adsl, arms = trial.dataset, trial.protocol, trial.adsl, trial.arms.arms
    sl = dataset.table("SL")
    crit = {c.id: c.text for c in protocol.population.eligibility or []}
    screened = ineligible = None
    reasons: Counts = ()
    not_rand: Counts = ()
    if len(sl):
        screened = len(sl)
        bad = sl[sl["ELIGFL"] == "N"]
        ineligible = len(bad)
        failed: list[str] = []
        for f in bad["FAILCRIT"]:
            ids = [x.strip() for x in str(f or "").split(";") if x.strip()] or ["not recorded"]
            failed += [crit.get(x, x) for x in ids]
        reasons = _counted(failed)
        other = sl[(sl["ELIGFL"] != "N") & (sl["RANDFL"] != "Y")]
        not_rand = _counted(
            [str(r).capitalize() if r else "Reason not recorded" for r in other["NRANDRS"]]
        )
    primary = next((e for e in protocol.endpoints if e.primary), protocol.endpoints[0])
    analysed, _arm_col = trial.population(primary.population)
    analysed_ids = set(analysed["USUBJID"])

    def column(rows: pd.DataFrame, arm: str, label: str) -> ConsortArm:
        got = (rows["NDOSE"] > 0) & (rows["ACTARMCD"] == rows["ARMCD"])
        other = rows[~got]
        why: list[str] = np.select(
            [
                (other["NDOSE"] != 0).to_numpy(dtype=bool),
                # a live trial: the first dose may still come
                (other["EOSSTT"] == "ONGOING").to_numpy(dtype=bool),
            ],
            ["received another arm's product", "not dosed yet (still in follow-up)"],
            "never dosed",
        ).tolist()
        reason = rows["DCSREAS"].fillna("")
        lost = reason == "LOST TO FOLLOW-UP"
        disc = (rows["EOSSTT"] == "DISCONTINUED") & ~lost
        out = rows[~rows["USUBJID"].isin(analysed_ids)]
        return ConsortArm(
            arm=arm,
            label=label,
            allocated=len(rows),
            received=int(got.sum()),
            not_received=_counted(why),
            lost_to_follow_up=int(lost.sum()),
            discontinued=int(disc.sum()),
            discontinued_reasons=_counted([str(x).capitalize() for x in reason[disc]]),
            completed=int((rows["EOSSTT"] == "COMPLETED").sum()),
            analysed=len(rows) - len(out),
            excluded=_counted([f"not in the {primary.population} population"] * len(out)),
            ongoing=int((rows["EOSSTT"] == "ONGOING").sum()),
            deaths=int((rows["DTHFL"] == "Y").sum()),
        )

    cols = tuple(column(adsl[adsl["ARMCD"] == a.id], a.id, a.label) for a in arms)
    return Consort(
        screened=screened,
        ineligible=ineligible,
        ineligible_reasons=reasons,
        not_randomized=not_rand,
        randomized=len(adsl),
        arms=cols,
        pooled=column(adsl, POOLED, POOLED_LABEL),
        analysis_population=f"{primary.population}: {describe(primary.population)}",
    )


# --- baseline -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BaselineRow(Result):
    """One row of the baseline table.

    ``kind`` is ``n`` (values: (n,)), ``mean_sd`` ((mean, sd, n)), ``count`` ((k, n)),
    ``median_iqr`` ((median, q1, q3, n, n_missing)) or ``header`` (no values).
    ``values`` holds one tuple per column (arm ids, then :data:`POOLED`).
    """

    label: str
    kind: str
    values: tuple[tuple[str, tuple[float, ...]], ...]

    def value(self, column: str) -> tuple[float, ...]:
        return dict(self.values)[column]

    def text(self, column: str) -> str:
        v = self.value(column) if self.kind != "header" else ()
        if self.kind == "n":
            return f"{v[0]:.0f}"
        if self.kind == "mean_sd":
            return "—" if v[2] == 0 else f"{v[0]:.1f} ({v[1]:.1f})"
        if self.kind == "count":
            pct = 100 * v[0] / v[1] if v[1] else math.nan
            return f"{v[0]:.0f} ({pct:.0f}%)"
        if self.kind == "median_iqr":
            if v[3] == 0:
                return f"— (missing {v[4]:.0f})"
            miss = f"; missing {v[4]:.0f}" if v[4] else ""
            return f"{v[0]:.4g} ({v[1]:.4g}–{v[2]:.4g}){miss}"
        return ""


@dataclasses.dataclass(frozen=True)
class BaselineTable(Result):
    columns: tuple[tuple[str, str], ...]
    rows: tuple[BaselineRow, ...]
    population: str


def baseline(trial: Trial) -> BaselineTable:
    """Baseline characteristics of the ITT population by arm (and pooled)."""
    protocol, arms = trial.protocol, trial.arms.arms
    pop, arm_col = trial.population("itt")
    groups = [(a.id, pop[pop[arm_col] == a.id]) for a in arms] + [(POOLED, pop)]
    rows: list[BaselineRow] = []

    def add(label: str, kind: str, fn: object) -> None:
        vals = tuple((col, fn(g)) for col, g in groups)  # type: ignore[operator]
        rows.append(BaselineRow(label, kind, vals))

    add("Participants, n", "n", lambda g: (float(len(g)),))

    def age(g: pd.DataFrame) -> tuple[float, ...]:
        a = g["AGE"].dropna().to_numpy(dtype=float)
        return (*mean_sd(a), float(a.size))

    add("Age, years, mean (SD)", "mean_sd", age)
    level_labels: dict[str, dict[str, str]] = {
        m.code: {lv.code: lv.label for lv in m.levels or []} for m in protocol.measurements
    }
    rows.append(BaselineRow("Sex, n (%)", "header", ()))
    for code in sorted(set(pop["SEX"].dropna())):
        lab = level_labels.get("sex", {}).get(code, code)
        add(f"  {lab}", "count", lambda g, c=code: (float((g["SEX"] == c).sum()), float(len(g))))
    for s in protocol.design.allocation.strata:
        col = "STRAT_" + s.factor.upper()
        if col not in pop:
            continue
        name = next((m.label for m in protocol.measurements if m.code == s.factor), s.factor)
        rows.append(BaselineRow(f"{name} (stratum), n (%)", "header", ()))
        for lv in s.levels:
            lab = level_labels.get(s.factor, {}).get(lv, lv)
            add(
                f"  {lab}",
                "count",
                lambda g, c=col, v=lv: (float((g[c] == v).sum()), float(len(g))),
            )
    for m in protocol.measurements:
        col = baseline_column(m.code)
        if col not in pop or m.kind not in ("number", "integer"):
            continue
        unit = f" ({m.unit})" if m.unit else ""

        def med(g: pd.DataFrame, c: str = col) -> tuple[float, ...]:
            v = g[c].to_numpy(dtype=float)
            ok = v[~np.isnan(v)]
            return (*quartiles(ok), float(ok.size), float(v.size - ok.size))

        add(f"{m.label}{unit}, median (IQR)", "median_iqr", med)
    columns = (*tuple((a.id, a.label) for a in arms), (POOLED, POOLED_LABEL))
    return BaselineTable(columns, tuple(rows), "itt")


# --- exposure -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExposureArm(Result):
    """Administrations planned and given in one arm (as randomized, all randomized)."""

    arm: str
    label: str
    participants: int
    planned: int
    given: int
    all_planned: int
    none_given: int
    deviations: int


def exposure(trial: Trial) -> tuple[ExposureArm, ...]:
    """Doses given per arm (and deviations from the planned dose or window)."""
    adsl, arms, ex = trial.adsl, trial.arms.arms, trial.ex
    dev = ex[ex["EXDEVFL"] == "Y"].groupby("USUBJID").size()

    def one(arm: str, label: str, g: pd.DataFrame) -> ExposureArm:
        return ExposureArm(
            arm,
            label,
            len(g),
            int(g["NDOSEPL"].sum()),
            int(g["NDOSE"].sum()),
            int((g["NDOSE"] >= g["NDOSEPL"]).sum()),
            int((g["NDOSE"] == 0).sum()),
            int(g["USUBJID"].map(dev).fillna(0).sum()),
        )

    out = [one(a.id, a.label, adsl[adsl["ARMCD"] == a.id]) for a in arms]
    return (*out, one(POOLED, POOLED_LABEL, adsl))


# --- safety ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SafetyArm(Result):
    """Safety population, by arm as treated."""

    arm: str
    label: str
    n: int
    ae_events: int
    any_ae: int
    grade3: int
    any_sae: int
    deaths: int


@dataclasses.dataclass(frozen=True)
class TermRow(Result):
    """One AE term: participants with it by worst grade of that term, per arm column."""

    term: str
    participants: tuple[tuple[str, int], ...]
    by_grade: tuple[tuple[str, tuple[int, int, int, int, int]], ...]


@dataclasses.dataclass(frozen=True)
class Listing(Result):
    """A listing: ``arm_column`` is the index of the column naming the arm (None if none)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    arm_column: int | None = 1


@dataclasses.dataclass(frozen=True)
class RelatednessRow(Result):
    """Treatment-emergent AEs (or SAEs) of one causality category (AEREL, to the study
    treatment): participants and events per arm column (arm id, participants, events)."""

    relatedness: str
    serious_only: bool
    counts: tuple[tuple[str, int, int], ...]
    #: ``product`` (AEREL), ``procedure`` (AERELPR, causality to the infusion procedure) or
    #: ``infusion`` (AEINFFL = Y, a pre-specified infusion-associated event).
    to: str = "product"


#: AEREL categories in the order the report lists them, "related" first.
RELATEDNESS_ORDER = (
    "RELATED",
    "PROBABLY RELATED",
    "POSSIBLY RELATED",
    "UNLIKELY RELATED",
    "NOT RELATED",
    "NOT ASSESSED",
)
#: The categories counted as related to the study treatment (reasonable possibility).
RELATED = frozenset({"RELATED", "PROBABLY RELATED", "POSSIBLY RELATED"})


@dataclasses.dataclass(frozen=True)
class SafetySummary(Result):
    arms: tuple[SafetyArm, ...]
    pooled: SafetyArm
    terms: tuple[TermRow, ...]
    windows: tuple[tuple[str, str, tuple[tuple[str, int, int], ...]], ...]
    #: AEs and SAEs by causality to the study treatment (:class:`RelatednessRow`): the
    #: "any related" rows first (related, probably or possibly related), then each category.
    relatedness: tuple[RelatednessRow, ...] = ()


def _relatedness(ae: pd.DataFrame, cols: list[tuple[str, str]]) -> tuple[RelatednessRow, ...]:
    """AEs by causality to the product (AEREL), then, when the dataset has them, to the
    infusion procedure (AERELPR) and the pre-specified infusion-associated events (AEINFFL)."""
    out = list(_by_causality(ae, cols, "AEREL", "product"))
    if "AERELPR" in ae.columns and ae["AERELPR"].notna().any():
        out += _by_causality(ae, cols, "AERELPR", "procedure")
    if "AEINFFL" in ae.columns and (ae["AEINFFL"] == "Y").any():
        for serious in (False, True):
            sub = ae[ae["AEINFFL"] == "Y"]
            sub = sub[sub["AESER"] == "Y"] if serious else sub
            out.append(
                RelatednessRow("INFUSION-ASSOCIATED", serious, _counts(sub, cols), "infusion")
            )
    return tuple(out)


def _counts(rows: pd.DataFrame, cols: list[tuple[str, str]]) -> tuple[tuple[str, int, int], ...]:
    """(arm, participants, events) per column of the report."""
    return tuple(
        (arm, int(r["USUBJID"].nunique()), len(r))
        for arm, _ in cols
        for r in [rows if arm == POOLED else rows[rows["_ARM"] == arm]]
    )


def _by_causality(
    ae: pd.DataFrame, cols: list[tuple[str, str]], column: str, to: str
) -> list[RelatednessRow]:
    rel = (
        ae[column].fillna("").astype(str).str.upper().str.strip()
        if column in ae.columns
        else pd.Series("", index=ae.index)
    )
    rel = rel.where(rel != "", "NOT ASSESSED")
    frame = ae.assign(_REL=rel)
    out: list[RelatednessRow] = []
    for serious in (False, True):
        sub = frame[frame["AESER"] == "Y"] if serious else frame
        cats: list[tuple[str, pd.DataFrame]] = [("ANY RELATED", sub[sub["_REL"].isin(RELATED)])]
        present = set(sub["_REL"])
        order = [c for c in RELATEDNESS_ORDER if c in present] + sorted(
            present - set(RELATEDNESS_ORDER)
        )
        cats += [(c, sub[sub["_REL"] == c]) for c in order]
        for cat, rows in cats:
            out.append(RelatednessRow(cat, serious, _counts(rows, cols), to))
    return out


def safety(trial: Trial, window_events: pd.DataFrame) -> SafetySummary:
    """Treatment-emergent AEs, SAEs and deaths by arm; events inside each safety window."""
    protocol, adae, arms = trial.protocol, trial.adae, trial.arms.arms
    pop, arm_col = trial.population("safety")
    arm_of = dict(zip(pop["USUBJID"], pop[arm_col].astype(str), strict=True))
    ae = adae[adae["USUBJID"].isin(arm_of) & (adae["TRTEMFL"] == "Y")].copy()
    ae["_ARM"] = ae["USUBJID"].map(arm_of)
    ae["_TERM"] = ae["AEDECOD"].fillna(ae["AETERM"])
    cols = [(a.id, a.label) for a in arms] + [(POOLED, POOLED_LABEL)]

    def sel(frame: pd.DataFrame, arm: str) -> pd.DataFrame:
        return frame if arm == POOLED else frame[frame["_ARM"] == arm]

    p = pop.assign(_ARM=pop[arm_col].astype(str))
    per: list[SafetyArm] = []
    for arm, label in cols:
        a, s = sel(ae, arm), sel(p, arm)
        per.append(
            SafetyArm(
                arm,
                label,
                len(s),
                len(a),
                int(a["USUBJID"].nunique()),
                int(a.loc[a["ATOXGR"] >= 3, "USUBJID"].nunique()),
                int(a.loc[a["AESER"] == "Y", "USUBJID"].nunique()),
                int((s["DTHFL"] == "Y").sum()),
            )
        )
    terms: list[TermRow] = []
    # Each participant's worst grade of each term (and arm), all terms in one grouping.
    worst = (
        ae.groupby(["_TERM", "USUBJID"]).agg(G=("ATOXGR", "max"), A=("_ARM", "first")).reset_index()
    )
    people = worst.groupby("_TERM").size().to_dict()
    by_arm = worst.groupby(["_TERM", "A"]).size().to_dict()
    by_grade = worst.groupby(["_TERM", "A", "G"]).size().to_dict()
    pooled_grade = worst.groupby(["_TERM", "G"]).size().to_dict()
    for term in sorted(people, key=lambda t: (-people[t], t)):
        parts, grades = [], []
        for arm, _ in cols:
            if arm == POOLED:
                parts.append((arm, int(people[term])))
                gr = tuple(int(pooled_grade.get((term, k), 0)) for k in range(1, 6))
            else:
                parts.append((arm, int(by_arm.get((term, arm), 0))))
                gr = tuple(int(by_grade.get((term, arm, k), 0)) for k in range(1, 6))
            grades.append((arm, gr))
        terms.append(TermRow(str(term), tuple(parts), tuple(grades)))  # type: ignore[arg-type]
    windows = []
    ev = window_events[window_events["USUBJID"].isin(arm_of)].assign(
        _ARM=lambda f: f["USUBJID"].map(arm_of)
    )
    for w in protocol.safety.windows:
        sub = ev[ev["WINDOW"] == w.id]
        counts = []
        for arm, _ in cols:
            s = sel(sub, arm)
            counts.append((arm, int(s["USUBJID"].nunique()), len(s)))
        windows.append((w.id, w.label, tuple(counts)))
    return SafetySummary(
        tuple(per[:-1]), per[-1], tuple(terms), tuple(windows), _relatedness(ae, cols)
    )


def _days(t: pd.Series, origin: pd.Series) -> list[str]:
    """Days from ``origin`` to ``t`` (both UTC instants, row by row) to one decimal; "—"
    where either is missing. Seconds as :meth:`pandas.Timedelta.total_seconds` counts them
    (whole microseconds), for the whole column at once."""
    a = pd.to_datetime(t, utc=True).to_numpy(dtype="datetime64[ns]").view(np.int64)
    b = pd.to_datetime(origin, utc=True).to_numpy(dtype="datetime64[ns]").view(np.int64)
    nat = np.iinfo(np.int64).min
    gone = (a == nat) | (b == nat)
    secs = ((np.where(gone, 0, a) - np.where(gone, 0, b)) // 1000) / 1e6
    return [
        "—" if g else f"{d:.1f}"
        for g, d in zip(gone.tolist(), (secs / 86400).tolist(), strict=True)
    ]


def listings(trial: Trial) -> tuple[Listing, ...]:
    """Listings of deaths, SAEs and withdrawals, with the day since the first dose."""
    dataset, adsl, adae, arms = trial.dataset, trial.adsl, trial.adae, trial.arms.arms
    labels = {a.id: a.label for a in arms}
    by = adsl.set_index("USUBJID")
    origin = by["TRTSDTM"].where(by["TRTSDTM"].notna(), by["RANDDTM"])
    arm_of = {
        col: {
            uid: labels.get(str(a), "Not treated" if a == "NOTTRT" else str(a))
            for uid, a in zip(by.index.tolist(), by[col].tolist(), strict=True)
        }
        for col in ("ACTARMCD", "ARMCD")
    }

    def arms_of(uids: list[str], col: str = "ACTARMCD") -> list[str]:
        known = arm_of[col]
        absent = labels.get("None", "None")  # a participant not in ADSL: no arm
        return [known.get(u, absent) for u in uids]

    def from_origin(t: pd.Series, uids: list[str]) -> list[str]:
        return _days(t, origin.reindex(uids))

    sae = adae[adae["AESER"] == "Y"].sort_values(["USUBJID", "ASTDTM"])
    ids = sae["USUBJID"].tolist()
    sae_rows = tuple(
        zip(
            [str(u) for u in ids],
            arms_of(ids),
            [
                str(d or t)
                for d, t in zip(sae["AEDECOD"].tolist(), sae["AETERM"].tolist(), strict=True)
            ],
            [f"{g:.0f}" for g in sae["ATOXGR"].tolist()],
            from_origin(sae["ASTDTM"], ids),
            [str(o or "—") for o in sae["AEOUT"].tolist()],
            strict=True,
        )
    )
    cause = (
        adae[(adae["AESDTH"] == "Y") | (adae["ATOXGR"] == 5)]
        .sort_values("ASTDTM")
        .groupby("USUBJID")["AEDECOD"]
        .last()
    )
    dead = adsl[adsl["DTHFL"] == "Y"]
    ids = dead["USUBJID"].tolist()
    causes = cause.to_dict()
    death_rows = tuple(
        zip(
            [str(u) for u in ids],
            arms_of(ids),
            from_origin(dead["DTHDTM"], ids),
            [str(causes.get(u, "—")) for u in ids],
            strict=True,
        )
    )
    dv = dataset.table("DV")
    ex = dataset.table("EX")
    exd = ex[ex["EXDEVFL"] == "Y"]
    ids = dv["USUBJID"].tolist()
    dev_rows = list(
        zip(
            [str(u) for u in ids],
            arms_of(ids, "ARMCD"),
            [str(c) for c in dv["DVCAT"].tolist()],
            [str(c) for c in dv["DVTERM"].tolist()],
            from_origin(times.to_utc(dv["DVSTDTC"]), ids),
            strict=True,
        )
    )
    ids = exd["USUBJID"].tolist()
    dev_rows += list(
        zip(
            [str(u) for u in ids],
            arms_of(ids, "ARMCD"),
            ["EXPOSURE"] * len(ids),
            [
                f"administration {n if pd.notna(n) else '?'}: {r or 'deviation'}"
                for n, r in zip(exd["EXNUM"].tolist(), exd["EXDEVRS"].tolist(), strict=True)
            ],
            from_origin(times.to_utc(exd["EXSTDTC"]), ids),
            strict=True,
        )
    )
    dev_rows.sort(key=lambda r: r[0])
    return (
        Listing(
            "Serious adverse events",
            ("Participant", "Arm (as treated)", "Term", "Grade", "Onset day", "Outcome"),
            sae_rows,
        ),
        Listing(
            "Deaths",
            ("Participant", "Arm (as treated)", "Day of death", "Fatal adverse event"),
            death_rows,
        ),
        Listing(
            "Protocol deviations",
            ("Participant", "Arm (as randomized)", "Category", "Deviation", "Day"),
            tuple(dev_rows),
        ),
    )
