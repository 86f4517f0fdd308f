"""Shipped scenarios, run through the simulator, reproduce the published numbers.

Two levels, both running the simulator's own code (no draw is re-made here):

- the outcome engine (:func:`celltrial.simulate.draw_outcomes`): 2,000 virtual trials of each
  seed trial's size (seeded); the pooled rate of each arm must lie within 4 Monte Carlo
  standard errors of its target, SE = sqrt(p (1 - p) / m) with m the arm's participants over
  all trials;
- the whole simulator (:func:`celltrial.simulate.simulate_trial`: screening, randomization,
  infusions, visits, events, dropout, the trial dataset): one large virtual trial per
  scenario (:data:`N` randomized); each published figure is read from the dataset's tables as
  the paper read it (Kaplan–Meier for survival, crude proportions otherwise) and must lie
  within 4 Monte Carlo standard errors of it, SE = sqrt(p (1 - p) / n_arm) (a Kaplan–Meier
  estimate with light censoring has about the binomial SE).

Targets are the numbers quoted in each scenario file's header ([seed]/[trials] =
shared/seeds/). With 4 SE a correct simulator fails a check with probability 6e-5; the seeds
are fixed, so a run is reproducible.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from celltrial.dataset import Dataset
from celltrial.protocol import load_protocol
from celltrial.simulate import draw_outcomes, load_scenario, simulate_trial
from celltrial.simulate.power import arm_sizes
from celltrial.stats import kaplan_meier

TRIALS = 2000
#: Participants randomized in each whole-simulator trial (about 300 per arm).
N = 600


def _outcomes(pid: str, sizes: dict[str, int], seed: int):  # type: ignore[no-untyped-def]
    p = load_protocol(pid)
    s = load_scenario(pid, p)
    arms = tuple(sizes)
    row = np.concatenate([np.full(k, i) for i, k in enumerate(sizes.values())])
    arm = np.broadcast_to(row, (TRIALS, len(row))).copy()
    return p, s, draw_outcomes(p, s, arm, arms=arms, rng=np.random.default_rng(seed))


def _close(x: np.ndarray, target: float) -> None:
    rate = float(np.mean(x))
    se = math.sqrt(max(target * (1 - target), 1e-12) / x.size)
    assert abs(rate - target) < 4 * se + 1e-12, f"{rate:.4f} vs target {target:.4f} (SE {se:.4f})"


def test_lanzoni_day31_survival_and_sae_participants() -> None:
    _, _, out = _outcomes("lanzoni2021", {"ucmsc": 12, "control": 12}, 1)
    for k, (survival, sae) in enumerate([(0.91, 2 / 12), (0.42, 8 / 12)]):
        mine = out.arm == k
        # Net survival at day 31 (what the Kaplan-Meier estimate targets).
        _close(out.latent["death"][mine] > 31, survival)
        # A participant with an SAE by day 31: a non-fatal SAE or a death (a fatal SAE). The
        # simulator's first non-fatal SAE (observed: before death, dropout and the end).
        had = np.minimum(out.serious[mine], out.latent["death"][mine]) <= 31
        _close(had, sae)


def test_fathikazerooni_intubation_and_survival() -> None:
    _, _, out = _outcomes("fathikazerooni2022", {"secretome": 14, "placebo": 15}, 2)
    for k, (intubated, survival) in enumerate([(0.5, 0.57), (0.8, 0.28)]):
        mine = out.arm == k
        t = out.latent["intubation"][mine]
        _close((t <= 28) & (t < out.latent["death"][mine]), intubated)
        _close(out.latent["death"][mine] > 32, survival)


def test_shi_followed_to_month12() -> None:
    # Participants still followed at month 12: 56 of 65 (normal CT at month 12 is a finding at
    # a visit, checked on the whole simulator's dataset below).
    _, _, out = _outcomes("shi2021", {"ucmsc": 65, "placebo": 35}, 4)
    mine = out.arm == 0
    _close(out.latent["dropout"][mine] > 365, 56 / 65)


def test_meng_ventilation_before_discharge() -> None:
    _, _, out = _outcomes("meng2020", {"ucmsc": 9, "control": 9}, 5)
    for k, target in enumerate([1 / 9, 4 / 9]):
        mine = out.arm == k
        _close(out.latent["mechanical_ventilation"][mine] < out.latent["discharge"][mine], target)
        # Observed within the 120-day follow-up: within 1% of the target.
        seen = np.isfinite(out.observed["mechanical_ventilation"][mine])
        assert abs(seen.mean() - target) < 4 * math.sqrt(target * (1 - target) / seen.size) + 0.01


def test_rebelatto_deaths_by_end_of_follow_up() -> None:
    # Deaths 5/11 vs 1/6 [trials] (time point not stated), read at the end of the scenario's
    # 130-day follow-up; the death hazard is piecewise with 80% of the deaths by day 28 (an
    # assumption, checked here so that the header's derivation holds).
    protocol, _, out = _outcomes("rebelatto2022", {"ucmsc": 11, "placebo": 6}, 6)
    assert out.follow_up == 130.0
    assert protocol.follow_up is None
    for k, died in enumerate([5 / 11, 1 / 6]):
        mine = out.arm == k
        death = out.latent["death"][mine]
        _close(death <= 130, died)
        _close(death <= 28, 0.8 * died)


# --- the whole simulator: one large virtual trial per scenario, read from its dataset ---------


def _simulated(pid: str, seed: int) -> Dataset:
    p = load_protocol(pid)
    return simulate_trial(p, load_scenario(pid, p), n=N, rng=np.random.default_rng(seed))


def _days(ds: Dataset) -> pd.DataFrame:
    """Per randomized participant: arm, day of death and day follow-up ended (days from the
    first dose; NaN when none), from DM and DS."""
    dm = ds.dm.set_index("USUBJID")
    start = pd.to_datetime(dm["RFSTDTC"].fillna(dm["RANDDTC"]), utc=True)
    death = (pd.to_datetime(dm["DTHDTC"], utc=True) - start).dt.total_seconds() / 86400
    dsp = ds.table("DS")
    ends = dsp[dsp["DSCAT"] == "DISPOSITION EVENT"].groupby("USUBJID")["DSSTDTC"].min()
    end = (pd.to_datetime(ends.reindex(dm.index), utc=True) - start).dt.total_seconds() / 86400
    return pd.DataFrame({"arm": dm["ARMCD"], "start": start, "death": death, "end": end})


def _km(time: np.ndarray, event: np.ndarray, at: float) -> float:
    """Kaplan–Meier survival at day ``at``."""
    km = kaplan_meier(time, event)
    i = int(np.searchsorted(km.time, at, side="right")) - 1
    return 1.0 if i < 0 else float(km.estimate[i])


def _near(value: float, target: float, n: int, what: str, allowance: float = 0.0) -> None:
    se = math.sqrt(max(target * (1 - target), 1e-12) / n)
    assert abs(value - target) < 4 * se + allowance, (
        f"{what}: {value:.4f} vs published {target:.4f} (4 SE = {4 * se:.4f}, n = {n})"
    )


def _first(ds: Dataset, code: str, days: pd.DataFrame) -> pd.Series:
    """Day of each participant's first clinical event ``code`` (CE), NaN when none."""
    ce = ds.table("CE")
    ce = ce[(ce["CEDECOD"] == code) & (ce["CEOCCUR"].fillna("Y") != "N")]  # blank: occurred
    at = pd.to_datetime(ce.groupby("USUBJID")["CESTDTC"].min(), utc=True)
    return (at.reindex(days.index) - days["start"]).dt.total_seconds() / 86400


def test_simulator_lanzoni_survival_and_sae_at_day31() -> None:
    ds = _simulated("lanzoni2021", 21)
    d = _days(ds)
    ae = ds.table("AE")
    sae = ae[ae["AESER"] == "Y"]
    first_sae = (
        pd.to_datetime(sae.groupby("USUBJID")["AESTDTC"].min(), utc=True).reindex(d.index)
        - d["start"]
    ).dt.total_seconds() / 86400
    for arm, survival, with_sae in (("ucmsc", 0.91, 2 / 12), ("control", 0.42, 8 / 12)):
        x = d[d["arm"] == arm]
        died = x["death"].notna().to_numpy()
        t = np.where(died, x["death"], x["end"].fillna(31.0)).astype(float)
        _near(_km(t, died.astype(float), 31.0), survival, len(x), f"{arm} survival at day 31")
        # A serious AE (a death is a fatal SAE) by day 31, Kaplan–Meier over follow-up.
        s = first_sae[x.index]
        hit = s.notna().to_numpy() | died
        ts = np.fmin(s.to_numpy(dtype=float), np.where(died, x["death"], np.inf))
        ts = np.where(hit, ts, x["end"].fillna(31.0)).astype(float)
        _near(1 - _km(ts, hit.astype(float), 31.0), with_sae, len(x), f"{arm} SAE by day 31")


def test_simulator_fathikazerooni_intubation_and_survival() -> None:
    ds = _simulated("fathikazerooni2022", 22)
    d = _days(ds)
    intubated = _first(ds, "intubation", d)
    for arm, p_intubated, survival in (("secretome", 0.5, 0.57), ("placebo", 0.8, 0.28)):
        x = d[d["arm"] == arm]
        t = intubated[x.index]
        # Crude proportion intubated within 28 days (death competing: a death first counts no).
        _near(float((t <= 28).mean()), p_intubated, len(x), f"{arm} intubated by day 28")
        died = x["death"].notna().to_numpy()
        tt = np.where(died, x["death"], x["end"].fillna(32.0)).astype(float)
        _near(_km(tt, died.astype(float), 32.0), survival, len(x), f"{arm} survival at day 32")


def test_simulator_shi_normal_ct_at_month12_and_follow_up() -> None:
    ds = _simulated("shi2021", 23)
    d = _days(ds)
    ct = ds.table("CT")
    at12 = ct[(ct["CTTESTCD"] == "CTNORMAL") & (ct["VISIT"] == "month12")]
    value = at12.set_index("USUBJID")["CTORRES"].dropna().astype(str).str.upper()
    normal = value.isin(["TRUE", "Y", "YES", "1"])
    for arm, target in (("ucmsc", 10 / 56), ("placebo", 0.0)):
        mine = normal[normal.index.isin(d.index[d["arm"] == arm])]
        _near(float(mine.mean()), target, len(mine), f"{arm} normal CT at month 12")
    # Followed to month 12: 56 of 65 UC-MSC participants (no withdrawal before day 365).
    x = d[d["arm"] == "ucmsc"]
    ds_ = ds.table("DS")
    left = ds_[ds_["DSDECOD"].isin(["WITHDRAWN", "LOST TO FOLLOW-UP"])]["USUBJID"]
    stayed = ~x.index.isin(left) | (x["end"] > 365)
    _near(float(stayed.mean()), 56 / 65, len(x), "UC-MSC followed to month 12")


def test_simulator_meng_ventilation_before_discharge() -> None:
    ds = _simulated("meng2020", 24)
    d = _days(ds)
    vent, home = _first(ds, "mechanical_ventilation", d), _first(ds, "discharge", d)
    for arm, target in (("ucmsc", 1 / 9), ("control", 4 / 9)):
        x = d.index[d["arm"] == arm]
        first = vent[x].notna() & (home[x].isna() | (vent[x] < home[x]))
        # Allowance 0.01: the 120-day follow-up misses under 1% of the ventilations (header).
        _near(float(first.mean()), target, len(x), f"{arm} ventilated first", allowance=0.01)


def test_simulator_rebelatto_deaths_by_day130() -> None:
    ds = _simulated("rebelatto2022", 25)
    d = _days(ds)
    for arm, target in (("ucmsc", 5 / 11), ("placebo", 1 / 6)):
        x = d[d["arm"] == arm]
        died = x["death"].notna().to_numpy()
        t = np.where(died, x["death"], x["end"].fillna(130.0)).astype(float)
        _near(1 - _km(t, died.astype(float), 130.0), target, len(x), f"{arm} died by day 130")


def _simulated_power(pid: str, n: int, endpoint: str) -> tuple[float, float]:
    from celltrial.simulate import power

    p = load_protocol(pid)
    res = {
        r.endpoint: r
        for r in power(p, load_scenario(pid, p), n=n, trials=4000, rng=np.random.default_rng(9))
    }
    r = res[endpoint]
    assert r.type1 is not None
    assert r.type1.power < 0.05 + 4 * math.sqrt(0.05 * 0.95 / 4000)
    return r.power.power, math.sqrt(r.power.power * (1 - r.power.power) / 4000)


def test_power_of_meng_design_is_the_exact_fisher_power() -> None:
    """Source: the exact power of the two-sided Fisher exact test at alpha 0.05 for 1/9 vs 4/9
    ventilated (the calibrated risks) with 9 per arm, enumerated here over all 10 x 10
    outcomes with scipy.stats.fisher_exact (an independent hand calculation)."""
    from scipy.stats import binom, fisher_exact

    exact = 0.0
    for a in range(10):
        for b in range(10):
            p = fisher_exact([[a, 9 - a], [b, 9 - b]]).pvalue
            if p <= 0.05:
                exact += binom.pmf(a, 9, 1 / 9) * binom.pmf(b, 9, 4 / 9)
    sim, se = _simulated_power("meng2020", 18, "mechanical_ventilation")
    # Allowance 0.01: ventilations after the 120-day follow-up are not seen (header: < 1%).
    assert abs(sim - exact) < 4 * se + 0.01, f"simulated {sim:.4f} vs exact {exact:.4f}"


def test_power_of_lanzoni_design_against_schoenfeld() -> None:
    """Source: Schoenfeld's approximation, power = Phi(|ln HR| sqrt(d / 4) - z_0.975), with the
    calibrated day-31 survival 0.91 vs 0.42 (exponential: HR = ln 0.42 / ln 0.91 = 9.20) and
    d = 12 (1 - 0.91) + 12 (1 - 0.42) = 8.0 expected deaths by day 31 with 12 per arm: 0.88.
    With 8 events the approximation is known to overstate the log-rank test's power, so the
    simulated power must lie below it (plus 4 MC SE) and above 0.6."""
    from scipy.stats import norm

    hr = math.log(0.42) / math.log(0.91)
    deaths = 12 * (1 - 0.91) + 12 * (1 - 0.42)
    schoenfeld = float(norm.cdf(math.log(hr) * math.sqrt(deaths / 4) - norm.ppf(0.975)))
    assert abs(schoenfeld - 0.88) < 0.01
    sim, se = _simulated_power("lanzoni2021", 24, "survival_d31")
    assert 0.6 < sim < schoenfeld + 4 * se, f"simulated {sim:.4f}, Schoenfeld {schoenfeld:.4f}"


def test_arm_sizes_of_published_trials() -> None:
    assert arm_sizes(29, [1, 1]) == [15, 14]
    assert arm_sizes(17, [11, 6]) == [11, 6]
