"""``celltrial design``: power and type I error of a protocol's analyses, by simulation.

``celltrial design power --protocol lanzoni2021 --scenario lanzoni2021 --trials 100000
--n 24,36,48 [--seed 1] [--dask local|ADDRESS]``

The whole analysis plan, each virtual trial analysed by the report's own analysis
(:mod:`celltrial.simulate.plan_power`):
``celltrial design power --plan --protocol lanzoni2021 --scenario lanzoni2021 --trials 1000
[--n 24] [--chunk 25] [--dask local [--workers 2]] [--null]``

A continuous endpoint planned with ANCOVA or an MMRM (no protocol or scenario needed):
``celltrial design power --analysis mmrm --delta 0.5 --sd 1 --corr 0.5 --visits 4
--dropout 0.15 --n 60,80 --trials 10000``
"""

from __future__ import annotations

import dataclasses
import json
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from celltrial.commands import _ui as ui
from celltrial.protocol import Protocol
from celltrial.simulate.continuous_power import (
    Analysis,
    ContinuousPlan,
    ancova_power,
    simulate_continuous_power,
)
from celltrial.simulate.plan_power import DEFAULT_CHUNK, PlanPower, plan_power, planned_tests
from celltrial.simulate.power import (
    DEFAULT_BATCH,
    EndpointPower,
    Runner,
    SimulatedPower,
    plan,
    power,
)
from celltrial.simulate.scenario import Scenario, ScenarioError, load_scenario

app = typer.Typer(help="Trial design: power by simulation.", no_args_is_help=True)
console = ui.console


@app.callback()
def design() -> None:
    """Trial design: power by simulation."""


def _protocol(source: str) -> Protocol:
    return ui.load_protocol_or_fail(source)


def _scenario(source: str, protocol: Protocol) -> Scenario:
    try:
        return load_scenario(source, protocol)
    except ScenarioError as exc:
        for problem in exc.problems:
            ui.errors.print(problem, highlight=False, markup=False, soft_wrap=True)
        raise ui.fail(f"{len(exc.problems)} problem(s) in scenario {source}") from None
    except FileNotFoundError as exc:
        raise ui.fail(str(exc)) from None


def _sizes(text: str | None, protocol: Protocol) -> list[int]:
    if text is None:
        if protocol.population.planned_n is None:
            raise ui.fail(
                "--n: the protocol's planned_n is unknown; give sample sizes, e.g. --n 24,36"
            )
        return [protocol.population.planned_n]
    try:
        sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ui.fail(f"--n: give whole numbers separated by commas, got {text!r}") from None
    if not sizes or any(s < 2 for s in sizes):
        raise ui.fail(f"--n: each sample size must be at least 2, got {text!r}")
    return sizes


@app.command("power")
def power_command(
    protocol: Annotated[
        str | None, typer.Option(help="Protocol id or YAML file (not with --analysis).")
    ] = None,
    scenario: Annotated[
        str | None, typer.Option(help="Scenario id or YAML file (not with --analysis).")
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(min=1, help="Simulated trials per sample size (10,000; 1,000 with --plan)."),
    ] = None,
    n: Annotated[
        str | None, typer.Option(help="Sample sizes, e.g. 24,36,48 (default: planned n).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random generator.")] = 1,
    batch: Annotated[
        int | None, typer.Option(min=1, help=f"Trials per batch ({DEFAULT_BATCH:,}).")
    ] = None,
    dask: Annotated[
        str | None, typer.Option(help="Dask scheduler address, or 'local' for a local cluster.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the results here.")
    ] = None,
    analysis: Annotated[
        str | None,
        typer.Option(
            help="Plan a continuous endpoint analysed by 'ancova' (last visit on arm + "
            "baseline) or 'mmrm' (unstructured, Kenward-Roger) instead of a protocol."
        ),
    ] = None,
    delta: Annotated[
        float | None, typer.Option(help="--analysis: mean difference at the last visit.")
    ] = None,
    sd: Annotated[float, typer.Option(help="--analysis: SD at every time point.")] = 1.0,
    corr: Annotated[
        float, typer.Option(help="--analysis: correlation between time points (baseline too).")
    ] = 0.5,
    corr_type: Annotated[
        str, typer.Option(help="--analysis: 'cs' (equal correlations) or 'ar1' (corr^lag).")
    ] = "cs",
    visits: Annotated[
        int | None,
        typer.Option(help="--analysis: post-baseline visits (default 1 for ANCOVA, 4 for MMRM)."),
    ] = None,
    dropout: Annotated[
        float, typer.Option(help="--analysis: drop-out by the last visit (monotone, at random).")
    ] = 0.0,
    ratio: Annotated[
        str, typer.Option(help="--analysis: allocation experimental:control, e.g. 2:1.")
    ] = "1:1",
    alpha: Annotated[float, typer.Option(help="--analysis: two-sided significance level.")] = 0.05,
    full_plan: Annotated[
        bool,
        typer.Option(
            "--plan",
            help="Power of every pre-specified test: each virtual trial simulated and analysed "
            "by the report's own analysis (slower; see docs/simulate.md).",
        ),
    ] = False,
    chunk: Annotated[
        int | None,
        typer.Option(min=1, help=f"--plan: trials per chunk handed to a worker ({DEFAULT_CHUNK})."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="--dask local: worker processes (default: cores).")
    ] = None,
    null: Annotated[
        bool,
        typer.Option(
            "--null", help="--plan: every arm on the control arm's scenario (type I error)."
        ),
    ] = False,
) -> None:
    """Power and type I error (both arms on the control scenario) of each endpoint's test,
    with Monte Carlo standard errors, over sample sizes; or, with --analysis, of a continuous
    endpoint planned with ANCOVA or an MMRM; or, with --plan, of every pre-specified test of
    the protocol's analysis plan."""
    if workers is not None and dask != "local":
        raise ui.fail("--workers: only with --dask local (a remote cluster has its own)")
    if not full_plan:
        for name, given in (("--chunk", chunk is not None), ("--null", null)):
            if given:
                raise ui.fail(f"{name}: only with --plan")
    if full_plan:
        if analysis is not None:
            raise ui.fail("--plan: runs a protocol's analyses; leave out --analysis")
        if batch is not None:
            raise ui.fail("--batch: not used with --plan (trials go to workers by --chunk)")
        if protocol is None or scenario is None:
            raise ui.fail("--plan: --protocol and --scenario are needed")
        _plan(protocol, scenario, n, trials or 1_000, seed, chunk, dask, workers, null, json_out)
        return
    trials = trials or 10_000
    batch = batch or DEFAULT_BATCH
    if analysis is not None:
        if protocol is not None or scenario is not None:
            raise ui.fail(
                "--analysis plans from its own assumptions: leave out --protocol/--scenario"
            )
        if dask is not None:
            raise ui.fail("--dask: not available with --analysis (one machine runs it)")
        _continuous(
            analysis,
            delta,
            sd,
            corr,
            corr_type,
            visits,
            dropout,
            ratio,
            alpha,
            n,
            trials,
            seed,
            batch,
            json_out,
        )
        return
    if protocol is None or scenario is None:
        raise ui.fail("--protocol and --scenario are needed (or --analysis ancova|mmrm)")
    p = _protocol(protocol)
    scn = _scenario(scenario, p)
    sizes = _sizes(n, p)
    pairs, skipped = plan(p)
    if not pairs:
        for endpoint_id, why in skipped:
            ui.errors.print(f"{endpoint_id}: {why}", highlight=False, markup=False)
        raise ui.fail(
            f"{p.id}: no endpoint has a test power can simulate (log-rank, Fisher exact, "
            "Wilcoxon rank-sum or Welch t-test)",
            1,
        )
    with ExitStack() as stack:
        runner: Runner | None = None
        if dask is not None:
            from celltrial.simulate.distributed import dask_runner

            try:
                runner = stack.enter_context(dask_runner(dask))
            except RuntimeError as exc:
                raise ui.fail(str(exc)) from None
        results = _run(p, scn, sizes, trials, seed, batch, runner)
    _show(results, skipped, p, scn, trials, seed, json_out)


def _continuous(
    analysis: str,
    delta: float | None,
    sd: float,
    corr: float,
    corr_type: str,
    visits: int | None,
    dropout: float,
    ratio: str,
    alpha: float,
    n: str | None,
    trials: int,
    seed: int,
    batch: int,
    json_out: Path | None,
) -> None:
    if analysis not in ("ancova", "mmrm"):
        raise ui.fail(f"--analysis: 'ancova' or 'mmrm', got {analysis!r}")
    if delta is None:
        raise ui.fail("--delta: the mean difference at the last visit is needed with --analysis")
    if n is None:
        raise ui.fail("--n: give sample sizes with --analysis, e.g. --n 40,60")
    try:
        weights = tuple(int(x) for x in ratio.split(":"))
    except ValueError:
        raise ui.fail(f"--ratio: give two whole numbers like 2:1, got {ratio!r}") from None
    if len(weights) != 2:
        raise ui.fail(f"--ratio: give two whole numbers like 2:1, got {ratio!r}")
    try:
        sizes = [int(x) for x in n.split(",") if x.strip()]
    except ValueError:
        raise ui.fail(f"--n: give whole numbers separated by commas, got {n!r}") from None
    if not sizes or any(s < 6 for s in sizes):
        raise ui.fail(f"--n: each sample size must be at least 6, got {n!r}")
    try:
        planned = ContinuousPlan(
            delta=delta,
            sd=sd,
            corr=corr,
            visits=visits if visits is not None else (1 if analysis == "ancova" else 4),
            dropout=dropout,
            corr_type=corr_type,  # type: ignore[arg-type]
            ratio=(weights[0], weights[1]),
            alpha=alpha,
        )
        null = dataclasses.replace(planned, delta=0.0)
        if analysis == "mmrm" and planned.visits < 2:
            raise ValueError("visits: an MMRM needs at least 2 post-baseline visits")
    except ValueError as exc:
        raise ui.fail(f"--{str(exc).split(':')[0].replace('_', '-')}: {exc}") from None
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("simulating trials", total=2 * trials * len(sizes))
        for size, child in zip(sizes, rng.spawn(len(sizes)), strict=True):
            g1, g0 = child.spawn(2)
            kind: Analysis = "ancova" if analysis == "ancova" else "mmrm"
            pw: SimulatedPower = simulate_continuous_power(
                planned,
                kind,
                n=size,
                trials=trials,
                batch=batch,
                rng=g1,
                progress=lambda k: bar.advance(task, k),
            )
            t1: SimulatedPower = simulate_continuous_power(
                null,
                kind,
                n=size,
                trials=trials,
                batch=batch,
                rng=g0,
                progress=lambda k: bar.advance(task, k),
            )
            exact = (
                ancova_power(planned, size)
                if analysis == "ancova" and planned.dropout == 0
                else None
            )
            rows.append(
                {
                    "analysis": analysis,
                    "method": pw.method,
                    "n": size,
                    "power": pw.power,
                    "power_se": pw.se,
                    "exact_power": exact,
                    "type1": t1.power,
                    "type1_se": t1.se,
                    "trials": trials,
                }
            )
    table = Table(
        title=(
            f"Power by simulation: {analysis.upper()}, delta {delta:g}, SD {sd:g}, "
            f"corr {corr:g} ({corr_type}), {planned.visits} visit(s), drop-out {dropout:g}, "
            f"ratio {ratio} ({trials:,} trials, seed {seed})"
        ),
        title_justify="left",
    )
    for col in ("analysis", "n", "power", "MC SE", "exact", "type I error", "MC SE "):
        table.add_column(col, justify="left" if col == "analysis" else "right")
    for r in rows:
        exact_v = r["exact_power"]
        table.add_row(
            str(r["method"]),
            str(r["n"]),
            f"{r['power']:.4f}",
            f"{r['power_se']:.4f}",
            "—" if exact_v is None else f"{exact_v:.4f}",
            f"{r['type1']:.4f}",
            f"{r['type1_se']:.4f}",
        )
    console.print(table)
    console.print(
        "Two-sided tests at alpha "
        f"{alpha:g}; type I error with delta = 0. 'exact': the ANCOVA power without drop-out "
        "(noncentral t averaged over the baseline imbalance), the check of the simulation.",
        highlight=False,
    )
    if json_out is not None:
        json_out.write_text(json.dumps(rows, indent=2) + "\n")
        console.print(f"results written to {json_out}", highlight=False)


def _run(
    p: Protocol,
    scn: Scenario,
    sizes: list[int],
    trials: int,
    seed: int,
    batch: int,
    runner: Runner | None,
) -> list[EndpointPower]:
    results: list[EndpointPower] = []
    rng = np.random.default_rng(seed)
    children = rng.spawn(len(sizes))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("simulating trials", total=2 * trials * len(sizes))
        for size, child in zip(sizes, children, strict=True):
            try:
                results += power(
                    p,
                    scn,
                    n=size,
                    trials=trials,
                    rng=child,
                    batch=batch,
                    progress=lambda k: bar.advance(task, k),
                    run_batches=runner,
                )
            except ValueError as exc:
                raise ui.fail(str(exc), 1) from None
    return results


def _show(
    results: list[EndpointPower],
    skipped: list[tuple[str, str]],
    p: Protocol,
    scn: Scenario,
    trials: int,
    seed: int,
    json_out: Path | None,
) -> None:
    table = Table(
        title=f"Power by simulation: {p.id} under scenario {scn.id} ({trials:,} trials, seed {seed})",
        title_justify="left",
    )
    for col in ("endpoint", "test", "n", "power", "MC SE", "type I error", "MC SE "):
        table.add_column(col, justify="left" if col in ("endpoint", "test") else "right")
    for r in results:
        name = f"{r.endpoint} [bold](primary)[/]" if r.primary else r.endpoint
        t1 = r.type1
        table.add_row(
            name,
            r.test,
            str(r.n),
            f"{r.power.power:.4f}",
            f"{r.power.se:.4f}",
            f"{t1.power:.4f}" if t1 else "—",
            f"{t1.se:.4f}" if t1 else "—",
        )
    console.print(table)
    console.print(
        "Two-sided tests at each endpoint's alpha, as the analysis runs them; type I error with "
        "every arm on the control arm's scenario. Wilcoxon rank-sum: exact when both arms have "
        "fewer than 50 values and no ties, else normal approximation with continuity "
        "correction (R's wilcox.test defaults).",
        highlight=False,
    )
    for endpoint_id, why in skipped:
        console.print(f"Not simulated: {endpoint_id} — {why}", highlight=False, markup=False)
    if json_out is not None:
        json_out.write_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n")
        console.print(f"results written to {json_out}", highlight=False)


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _plan(
    protocol: str,
    scenario: str,
    n: str | None,
    trials: int,
    seed: int,
    chunk: int | None,
    dask: str | None,
    workers: int | None,
    null: bool,
    json_out: Path | None,
) -> None:
    p = _protocol(protocol)
    scn = _scenario(scenario, p)
    sizes = _sizes(n, p)
    tests, none = planned_tests(p)
    if not tests:
        for endpoint_id, why in none:
            ui.errors.print(f"{endpoint_id}: {why}", highlight=False, markup=False)
        raise ui.fail(f"{p.id}: no endpoint's analysis lists a test", 1)
    if null:
        controls = [a.id for a in p.arms if a.role == "control"]
        if not controls:
            raise ui.fail(f"--null: {p.id} has no control arm to put every arm on")
        scn = scn.null(controls[0])
    rows: list[PlanPower] = []
    with ExitStack() as stack:
        client = None
        if dask is not None:
            from celltrial.simulate.distributed import dask_client

            try:
                client = stack.enter_context(dask_client(dask, workers=workers))
            except RuntimeError as exc:
                raise ui.fail(str(exc)) from None
        bar = stack.enter_context(_progress_bar())
        task = bar.add_task("simulating and analysing trials", total=trials * len(sizes))
        for size, child in zip(sizes, np.random.default_rng(seed).spawn(len(sizes)), strict=True):
            rows += plan_power(
                p,
                scn,
                n=size,
                trials=trials,
                rng=child,
                chunk=chunk or DEFAULT_CHUNK,
                client=client,
                progress=lambda k: bar.advance(task, k),
                tests=tests,
            )
    _show_plan(rows, none, p, scn, trials, seed, null, json_out)


def _estimate(r: PlanPower) -> str:
    if r.test.estimate is None:
        return "—"
    if r.estimates == 0:
        return f"{r.test.estimate}: none finite"
    more = "" if r.estimates == r.trials else f" ({r.estimates} finite)"
    return f"{r.test.estimate} {r.median_estimate:.4g}{more}"


def _show_plan(
    rows: list[PlanPower],
    none: list[tuple[str, str]],
    p: Protocol,
    scn: Scenario,
    trials: int,
    seed: int,
    null: bool,
    json_out: Path | None,
) -> None:
    under = f"{scn.id} with every arm on the control's (null)" if null else scn.id
    table = Table(
        title=f"Power of the analysis plan: {p.id} under scenario {under} "
        f"({trials:,} virtual trials each analysed as the report does, seed {seed})",
        title_justify="left",
    )
    rate = "type I error" if null else "power"
    for col in ("endpoint", "test", "n", rate, "MC SE", "95% CI", "median estimate", "no p"):
        table.add_column(
            col, justify="left" if col in ("endpoint", "test", "median estimate") else "right"
        )
    for r in rows:
        name = f"{r.test.endpoint} [bold](primary)[/]" if r.test.primary else r.test.endpoint
        missing = sum(r.not_computed.values())
        table.add_row(
            name,
            r.test.label,
            str(r.n),
            f"{r.power:.3f}",
            f"{r.se:.3f}",
            f"{r.ci[0]:.3f}–{r.ci[1]:.3f}",
            _estimate(r),
            f"{missing / r.trials:.1%}" if missing else "0",
        )
    console.print(table)
    console.print(
        "Two-sided, at each endpoint's alpha, as the analysis runs them. Power: share of all "
        "trials with p < alpha (a trial without a p-value does not reject); MC SE "
        "sqrt(p(1-p)/trials); 95% Wilson CI. 'no p': trials where the test could not be "
        "computed, with the reasons below.",
        highlight=False,
    )
    for r in rows:
        for why, k in r.not_computed.items():
            console.print(
                f"No p-value: {r.test.endpoint} {r.test.label} (n {r.n}), {k} trial(s): {why}",
                highlight=False,
                markup=False,
            )
    for endpoint_id, why in none:
        console.print(f"No test: {endpoint_id} — {why}", highlight=False, markup=False)
    if json_out is not None:
        json_out.write_text(json.dumps([r.to_dict() for r in rows], indent=2) + "\n")
        console.print(f"results written to {json_out}", highlight=False)
