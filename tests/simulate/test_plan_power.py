"""Power of the whole analysis plan (``celltrial.simulate.plan_power``, ``design power --plan``):
each virtual trial simulated and analysed by the report's own per-endpoint analysis.

Every trial costs a simulation plus the analysis (about 0.3-0.6 s of CPU at n = 24, most of it
fixed per call: building the dataset and ADSL/ADLB/ADAE/ADTTE), so these tests use few trials;
the statistical check is the one exception (its reason is written there).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from celltrial.analysis import POOLED
from celltrial.commands.design import app as design_app
from celltrial.protocol import Protocol, load_protocol
from celltrial.simulate.plan_power import PlanPower, chunks, plan_power, planned_tests
from celltrial.simulate.power import power
from celltrial.simulate.scenario import Scenario, load_scenario


@pytest.fixture(scope="module")
def lanzoni() -> tuple[Protocol, Scenario]:
    p = load_protocol("lanzoni2021")
    return p, load_scenario("lanzoni2021", p)


@pytest.fixture(scope="module")
def three(lanzoni: tuple[Protocol, Scenario]) -> list[PlanPower]:
    """Three virtual trials of 24, one chunk, in process."""
    p, s = lanzoni
    return plan_power(p, s, n=24, trials=3, rng=np.random.default_rng(5), chunk=3)


def _dicts(rows: list[PlanPower]) -> list[dict[str, object]]:
    return [r.to_dict() for r in rows]


def test_planned_tests_of_lanzoni(lanzoni: tuple[Protocol, Scenario]) -> None:
    tests, none = planned_tests(lanzoni[0])
    assert none == []
    assert tests[0].endpoint == "infusion_safety" and tests[0].primary
    keys = {t.key for t in tests}
    # every endpoint of the plan has its tests: 3 log-rank + 3 Cox, the primary's Fisher,
    # 6 between-arm rank-sum tests and 6 within-arm signed-rank tests in each arm and pooled
    assert len(tests) == 1 + 3 * 2 + 6 + 6 * 3
    assert {"survival_d31:logrank", "survival_d31:cox_ph", "il6_d6:wilcoxon_rank_sum"} <= keys
    assert f"il6_change_d6:wilcoxon_signed_rank:{POOLED}" in keys
    assert all(t.compare == ("ucmsc", "control") for t in tests)


def test_same_numbers_for_any_chunking(
    lanzoni: tuple[Protocol, Scenario], three: list[PlanPower]
) -> None:
    p, s = lanzoni
    again = plan_power(p, s, n=24, trials=3, rng=np.random.default_rng(5), chunk=1)
    assert _dicts(again) == _dicts(three)
    assert [len(c) for c in chunks(7, 3)] == [3, 3, 1]


def test_every_trial_is_counted(three: list[PlanPower]) -> None:
    for r in three:
        assert r.trials == 3
        assert 0 <= r.rejected <= r.computed <= 3
        assert r.computed + sum(r.not_computed.values()) == 3
        assert math.isclose(r.power, r.rejected / 3)
        assert r.ci[0] <= r.power <= r.ci[1]
    by = {r.test.key: r for r in three}
    # Cox's HR is read with its p; the log-rank has no estimate
    assert math.isnan(by["survival_d31:logrank"].median_estimate)
    assert by["il6_d6:wilcoxon_rank_sum"].estimates == 3


def test_a_test_without_p_is_counted_with_its_reason(
    lanzoni: tuple[Protocol, Scenario],
) -> None:
    # two participants: at most one per arm, so the between-arm tests cannot all be run
    p, s = lanzoni
    rows = plan_power(p, s, n=2, trials=1, rng=np.random.default_rng(5))
    missing = {r.test.key: r.not_computed for r in rows if r.not_computed}
    assert missing, "some test must lack a p-value in a trial of 2"
    for reasons in missing.values():
        assert sum(reasons.values()) == 1
        assert all(isinstance(why, str) and why for why in reasons)
    (why,) = missing["il6_d6:wilcoxon_rank_sum"]
    assert why.startswith("no participant of arm control analysed (most often: "), why


def test_dask_local_cluster_gives_the_same_numbers(
    lanzoni: tuple[Protocol, Scenario], three: list[PlanPower]
) -> None:
    # Starting a local cluster of 2 processes (each importing celltrial) takes ~3-5 s.
    from celltrial.simulate.distributed import dask_client

    p, s = lanzoni
    with dask_client("local", workers=2) as client:
        spread = plan_power(
            p, s, n=24, trials=3, rng=np.random.default_rng(5), chunk=1, client=client
        )
    assert _dicts(spread) == _dicts(three)


@pytest.mark.slow
def test_power_agrees_with_the_vectorized_tests(lanzoni: tuple[Protocol, Scenario]) -> None:
    """The plan's between-arm tests (log-rank, rank-sum) against ``power()``'s vectorized
    tests of the same endpoints, within 4 Monte Carlo SE of the plan's few trials.

    Slow on purpose (~5-10 s): 16 virtual trials each simulated and analysed by the report's
    code (only the 9 endpoints compared are analysed). Fewer trials could not tell a power of
    0.77 from one of 0.23; this bound (4 SE, about +-0.4) catches a p-value read from the
    wrong result or a test run on the wrong participants, not small biases.
    """
    p, s = lanzoni
    wanted = {"logrank", "wilcoxon_rank_sum"}
    tests = [t for t in planned_tests(p)[0] if t.method in wanted]
    plan = plan_power(p, s, n=24, trials=16, rng=np.random.default_rng(2), tests=tests)
    vec = {
        r.endpoint: r.power.power
        for r in power(p, s, n=24, trials=4000, rng=np.random.default_rng(2), null=False)
    }
    assert len(plan) == 9
    for r in plan:
        v = vec[r.test.endpoint]
        bound = 4 * math.sqrt(max(v * (1 - v), 0.05) / r.trials)
        assert abs(r.power - v) <= bound, (r.test.key, r.power, v, bound)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(design_app, name="design")
    return app


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--plan", "--analysis", "ancova", "--delta", "1"], "--plan"),
        (["--plan", "--protocol", "lanzoni2021"], "--plan"),
        (["--plan", "--protocol", "x", "--scenario", "x", "--batch", "10"], "--batch"),
        (["--protocol", "lanzoni2021", "--scenario", "lanzoni2021", "--chunk", "5"], "--chunk"),
        (["--protocol", "lanzoni2021", "--scenario", "lanzoni2021", "--null"], "--null"),
        (["--plan", "--protocol", "lanzoni2021", "--scenario", "lanzoni2021", "--workers", "2"],
         "--workers"),
        (["--plan", "--protocol", "lanzoni2021", "--scenario", "lanzoni2021", "--n", "1"], "--n"),
        (["--plan", "--protocol", "lanzoni2021", "--scenario", "lanzoni2021", "--chunk", "0"],
         "--chunk"),
    ],
)  # fmt: skip
def test_cli_errors_name_the_option(args: list[str], option: str) -> None:
    r = CliRunner().invoke(_app(), ["design", "power", *args])
    assert r.exit_code == 2, r.output
    assert option in r.output


def test_cli_plan_table_and_json(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    r = CliRunner().invoke(
        _app(),
        [
            "design",
            "power",
            "--plan",
            "--protocol",
            "lanzoni2021",
            "--scenario",
            "lanzoni2021",
            "--trials",
            "1",
            "--n",
            "2,3",
            "--seed",
            "4",
            "--json",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Power of the analysis plan: lanzoni2021" in r.output
    assert "infusion_safety" in r.output
    assert "No p-value: il6_d6 Wilcoxon rank-sum (n 2), 1 trial(s): no participant of arm" in (
        r.output
    )
    rows = json.loads(out.read_text())
    assert len(rows) == 2 * len(planned_tests(load_protocol("lanzoni2021"))[0])
    assert {x["n"] for x in rows} == {2, 3}
    row = next(x for x in rows if x["endpoint"] == "il6_d6")
    assert row["n"] == 2 and row["trials"] == 1 and row["power"] == 0.0
    assert list(row["not_computed"].values()) == [1]


def test_outcomes_are_those_of_analyze(lanzoni: tuple[Protocol, Scenario]) -> None:
    # The plan reads the very results the report's analyze() gives on the same virtual trial.
    from celltrial.analysis import analyze
    from celltrial.simulate import simulate_trial
    from celltrial.simulate.plan_power import analyse_trial, read_test

    p, s = lanzoni
    tests = planned_tests(p)[0]
    mine = analyse_trial(p, s, tests, n=24, rng=np.random.default_rng(7), check=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a Cox fit with an infinite HR says so in its result
        full = analyze(simulate_trial(p, s, n=24, rng=np.random.default_rng(7)), p)
    theirs = [read_test(full.endpoint(t.endpoint), t) for t in tests]
    for t, a, b in zip(tests, mine, theirs, strict=True):
        assert a.why is None and b.why is None, t.key
        assert a.p == b.p, t.key
        assert a.estimate == b.estimate or (math.isnan(a.estimate) and math.isnan(b.estimate))
