"""``celltrial demo``: a virtual Lanzoni trial, from simulation to the blinded and closed reports.

This version simulates straight to the trial dataset (``celltrial.simulate``), writes it,
analyses it (``celltrial.analysis``) and writes the blinded and the closed report
(``celltrial.report``). Running the virtual trial through the EDC's action functions is not
wired in yet (see docs/simulate.md).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from celltrial.commands import _ui as ui
from celltrial.dataset import check_dataset, errors, write_dataset
from celltrial.protocol import load_protocol
from celltrial.simulate import load_scenario, simulate_trial

PROTOCOL = "lanzoni2021"
SITES = ["01", "02", "03"]


def demo_command(
    out: Annotated[Path, typer.Option(help="Folder for the dataset and the reports.")] = Path(
        "celltrial-demo"
    ),
    n: Annotated[int, typer.Option(min=2, help="Participants to randomize.")] = 24,
    seed: Annotated[int, typer.Option(help="Seed of the virtual trial.")] = 2021,
) -> None:
    """Run a virtual lanzoni2021 trial (three sites) and write its dataset and reports."""
    console = ui.console
    start = time.perf_counter()
    protocol = load_protocol(PROTOCOL)
    scenario = load_scenario(PROTOCOL, protocol)
    scenario = scenario.model_copy(
        update={"accrual": scenario.accrual.model_copy(update={"sites": SITES})}
    )
    steps = ["simulate", "check", "write dataset", "analyse", "blinded report", "closed report"]
    written: dict[str, Path] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("celltrial demo", total=len(steps))

        def step(name: str) -> None:
            bar.update(task, description=f"celltrial demo: {name}")

        step(steps[0])
        dataset = simulate_trial(protocol, scenario, n=n, rng=np.random.default_rng(seed))
        bar.advance(task)
        step(steps[1])
        problems = errors([*dataset.problems, *check_dataset(dataset, protocol)])
        if problems:
            for p in problems[:20]:
                ui.errors.print(str(p), markup=False, highlight=False)
            raise ui.fail(f"the simulated dataset has {len(problems)} error(s)", 1)
        bar.advance(task)
        step(steps[2])
        folder = out / "dataset"
        write_dataset(dataset, folder)
        written["dataset"] = folder
        bar.advance(task)
        try:
            from celltrial.analysis import analyze
            from celltrial.report import write_report
        except ImportError as exc:  # pragma: no cover - while analysis/report are built
            console.print(f"analysis or report not available ({exc}); dataset only")
        else:
            step(steps[3])
            analysis = analyze(dataset, protocol)
            bar.advance(task)
            step(steps[4])
            written["blinded report"] = write_report(analysis, out / "report-blinded.html")[0]
            bar.advance(task)
            step(steps[5])
            written["closed report (DSMB)"] = write_report(
                analysis, out / "report-closed.html", closed=True
            )[0]
            bar.advance(task)
    console.rule(f"celltrial demo: virtual {PROTOCOL}, {n} participants, sites {', '.join(SITES)}")
    for what, path in written.items():
        console.print(f"{what:22s} {path}", highlight=False)
    dm = dataset.dm
    for arm in protocol.arms:
        mine = dm[dm["ARMCD"] == arm.id]
        deaths = int((mine["DTHFL"] == "Y").sum())
        console.print(f"{arm.label:22s} {len(mine)} randomized, {deaths} died", highlight=False)
    console.print(
        "Open the reports in a browser. The trial was simulated straight to the dataset; "
        "running it through the EDC (celltrial serve) is not wired into the demo yet.",
        highlight=False,
    )
    console.print(f"done in {time.perf_counter() - start:.1f} s", highlight=False)
