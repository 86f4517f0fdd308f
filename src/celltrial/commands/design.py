"""``celltrial design``: power and type I error of a protocol's analyses, by simulation.

``celltrial design power --protocol lanzoni2021 --scenario lanzoni2021 --trials 100000
--n 24,36,48 [--seed 1] [--dask local|ADDRESS]``
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from celltrial.commands import _ui as ui
from celltrial.protocol import Protocol
from celltrial.simulate.power import DEFAULT_BATCH, EndpointPower, Runner, plan, power
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
    protocol: Annotated[str, typer.Option(help="Protocol id or YAML file.")],
    scenario: Annotated[str, typer.Option(help="Scenario id or YAML file.")],
    trials: Annotated[int, typer.Option(min=1, help="Simulated trials per sample size.")] = 10_000,
    n: Annotated[
        str | None, typer.Option(help="Sample sizes, e.g. 24,36,48 (default: planned n).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random generator.")] = 1,
    batch: Annotated[int, typer.Option(min=1, help="Trials per batch.")] = DEFAULT_BATCH,
    dask: Annotated[
        str | None, typer.Option(help="Dask scheduler address, or 'local' for a local cluster.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the results here.")
    ] = None,
) -> None:
    """Power and type I error (both arms on the control scenario) of each endpoint's test,
    with Monte Carlo standard errors, over sample sizes."""
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
