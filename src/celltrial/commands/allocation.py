"""``celltrial allocation``: sealed lists, verification and assessment of schemes.

Every user mistake ends with a red ``error:`` line naming the option or protocol field and the
rule, and exit status 2; a list that fails verification exits with status 1.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from celltrial.allocation import (
    AllocationError,
    Assessment,
    Factor,
    Scheme,
    assess,
    default_schemes,
    generate_list,
    read_or_create_key,
    scheme_from_protocol,
    site_names,
    verify,
)
from celltrial.allocation.sealed import key_file_is_private
from celltrial.commands import _ui as ui
from celltrial.protocol import Protocol

app = typer.Typer(help="Randomization lists: generate, verify, assess.", no_args_is_help=True)


console = ui.console
errors = ui.errors


def _fail(message: str, code: int = 2) -> typer.Exit:
    return ui.fail(message, code)


def _load(source: str) -> Protocol:
    return ui.load_protocol_or_fail(source, option="--protocol")


def _ints(text: str | None, option: str) -> list[int] | None:
    if text is None:
        return None
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        raise _fail(f"{option}: {text!r} must be integers separated by commas, e.g. 4,6") from None
    return values


def _floats(text: str | None, option: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise _fail(
            f"{option}: {text!r} must be numbers separated by commas, e.g. 0.4,0.6"
        ) from None


def _scheme(p: Protocol, method: str | None, ratio: str | None, block_sizes: str | None) -> Scheme:
    try:
        return scheme_from_protocol(
            p, method=method, ratio=ratio, block_sizes=_ints(block_sizes, "--block-sizes")
        )
    except AllocationError as exc:
        raise _fail(_escape(str(exc))) from None


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


MethodOpt = Annotated[
    str | None,
    typer.Option(
        help="simple, permuted_blocks, stratified_blocks (overrides design.allocation.method)"
    ),
]
RatioOpt = Annotated[
    str | None,
    typer.Option(help="allocation ratio in arm order, e.g. 2:1 (overrides the protocol)"),
]
BlocksOpt = Annotated[
    str | None,
    typer.Option(
        "--block-sizes", help="block sizes, e.g. 4,6 (mixed at random; overrides the protocol)"
    ),
]


@app.command("generate")
def generate(
    protocol: Annotated[str, typer.Option(help="protocol file or library id")],
    per_stratum: Annotated[int, typer.Option(help="rows per site × stratum (whole blocks)")],
    seed_file: Annotated[
        Path, typer.Option(help="secret key; created (32 random bytes, mode 0600) if missing")
    ],
    out: Annotated[Path, typer.Option(help="where to write the sealed list (CSV)")],
    sites: Annotated[int, typer.Option(help="number of sites (site1..siteN)")] = 1,
    method: MethodOpt = None,
    ratio: RatioOpt = None,
    block_sizes: BlocksOpt = None,
    blinded: Annotated[
        Path | None, typer.Option(help="also write the blinded list (no arms) here")
    ] = None,
    key_out: Annotated[
        Path | None, typer.Option(help="also write the unblinded mapping kit code -> arm here")
    ] = None,
    force: Annotated[bool, typer.Option(help="overwrite existing output files")] = False,
) -> None:
    """Write a sealed allocation list and print its public commitment (SHA-256)."""
    p = _load(protocol)
    scheme = _scheme(p, method, ratio, block_sizes)
    targets = [("--out", out), ("--blinded", blinded), ("--key-out", key_out)]
    for option, path in targets:
        if path is None:
            continue
        if path.resolve() == seed_file.resolve():
            raise _fail(f"{option}: {path} is the seed file; write the list elsewhere")
        if path.exists() and not force:
            raise _fail(
                f"{option}: {path} exists; a sealed list is never overwritten (use --force)"
            )
    try:
        names = site_names(sites)
        key, created = read_or_create_key(seed_file)
        sealed = generate_list(
            scheme,
            key=key,
            protocol=p.id,
            protocol_version=p.version,
            sites=names,
            per_stratum=per_stratum,
        )
    except AllocationError as exc:
        raise _fail(_escape(str(exc))) from None
    except OSError as exc:
        raise _fail(f"--seed-file: cannot read or create {seed_file}: {exc.strerror}") from None
    if created:
        console.print(
            f"[yellow]created seed file {seed_file}[/] (32 random bytes, mode 0600): keep it "
            "secret and safe; whoever holds it can regenerate the list",
            highlight=False,
        )
    elif not key_file_is_private(seed_file):
        errors.print(
            f"[yellow]warning:[/] {seed_file} is readable by other users; chmod 600 it",
            highlight=False,
        )
    out.write_bytes(sealed.canonical())
    if blinded is not None:
        blinded.write_text(sealed.blinded_csv(), encoding="utf-8", newline="\n")
    if key_out is not None:
        key_out.write_text(sealed.key().to_csv(), encoding="utf-8", newline="\n")
        key_out.chmod(0o600)
    cells = len({(r.site, r.stratum) for r in sealed.rows})
    console.print(
        f"wrote {out}: {len(sealed.rows)} rows, {cells} site × stratum lists, "
        f"{scheme.method.replace('_', ' ')} {scheme.ratio.text()}"
        + (f", block sizes {sealed.header['block_sizes']}" if scheme.block_sizes else "")
        + f" (key id {sealed.header['key_id']})",
        highlight=False,
    )
    if blinded is not None:
        console.print(f"wrote {blinded}: the blinded list (no arms)", highlight=False)
    if key_out is not None:
        console.print(
            f"wrote {key_out}: kit code -> arm, for the unblinded side only", highlight=False
        )
    console.print(f"commitment (SHA-256): [bold]{sealed.commitment()}[/]", highlight=False)


@app.command("verify")
def verify_list(
    path: Annotated[Path, typer.Argument(help="the sealed list (CSV)")],
    commitment: Annotated[str, typer.Option(help="the published SHA-256 commitment (hex)")],
) -> None:
    """Check a sealed list against its published commitment: any changed byte fails."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _fail(f"LIST: no file {str(path)!r}") from None
    except OSError as exc:
        raise _fail(f"LIST: cannot read {path}: {exc.strerror}") from None
    try:
        result = verify(data, commitment)
    except AllocationError as exc:
        raise _fail(_escape(str(exc))) from None
    if not result.ok:
        raise _fail(f"{path}: {_escape(result.message)}", 1)
    console.print(f"[green]ok[/] {path} matches the commitment {result.digest}", highlight=False)


def _level(label: str) -> str:
    parts = label.split(";")
    return parts[0].split("=", 1)[1] if len(parts) == 1 and "=" in label else label


def _show(result: Assessment, protocol: str, seed: int, elapsed: float) -> None:
    strata = result.strata if len(result.strata) > 1 else ()
    probs = ", ".join(
        f"{_level(s)} {q:.2g}" for s, q in zip(strata, result.stratum_probs, strict=True)
    )
    ratio = ":".join(str(w) for w in result.ratio.values())
    arms = " vs ".join(result.ratio)
    console.print(
        f"[bold]Allocation schemes for {protocol}[/]: n = {result.n}, {arms} {ratio}, "
        f"{result.runs:,} simulated trials (seed {seed})"
        + (f"; strata drawn at random: {probs}" if strata else "")
        + (f"; {result.sites} sites" if result.sites > 1 else ""),
        highlight=False,
    )
    table = Table(title="Balance, predictability and power", title_justify="left")
    table.add_column("scheme")
    for col in ("E|D|", "P(|D|≥2)", "P(|D|≥4)"):
        table.add_column(col, justify="right")
    for s in strata:
        table.add_column(f"P(|D_s|≥2)\n{_level(s)}", justify="right")
    for col in ("correct\nguesses", "E power", "power\nloss", "efficiency\nloss"):
        table.add_column(col, justify="right")
    for a in result.schemes:
        table.add_row(
            a.scheme,
            f"{a.mean_abs_imbalance:.3f}",
            f"{a.p_imbalance_ge2:.4f}",
            f"{a.p_imbalance_ge4:.4f}",
            *(f"{b.p_imbalance_ge2:.4f}" for b in a.strata),
            f"{a.correct_guess:.4f}",
            f"{a.power:.4f}",
            f"{round(a.power_loss, 4) + 0.0:+.4f}",
            f"{a.efficiency_loss:.4f}",
        )
    console.print(table)
    support = sorted({float(v) for a in result.schemes for v in a.imbalance_distribution})
    shown = support[:4]
    dist = Table(title="Distribution of the final imbalance |D|", title_justify="left")
    dist.add_column("scheme")
    for v in shown:
        dist.add_column(f"|D|={v:g}", justify="right")
    tail = support[4] if len(support) > 4 else None
    if tail is not None:
        dist.add_column(f"|D|≥{tail:g}", justify="right")
    for s in strata:
        dist.add_column(f"E|D_s|\n{_level(s)}", justify="right")
    for a in result.schemes:
        d = {float(k): v for k, v in a.imbalance_distribution.items()}
        cells = [f"{d.get(v, 0.0):.4f}" for v in shown]
        if tail is not None:
            cells.append(f"{sum(q for v, q in d.items() if v >= tail - 1e-9):.4f}")
        cells += [f"{b.mean_abs_imbalance:.3f}" for b in a.strata]
        dist.add_row(a.scheme, *cells)
    console.print(dist)
    console.print(
        f"D = 2·max_j |N_j − n·w_j/W| (N_1 − N_2 for 1:1); D_s the same within stratum s. "
        f"Correct guesses: convergence strategy (Blackwell–Hodges), 0.5 = unpredictable for 1:1. "
        f"Power: two-sided z-test, α = {result.alpha:g}, effect size δ = {result.effect_size:.3f} "
        f"({result.power_target:.1%} power at the target allocation); loss = that − E power. "
        f"Simulated in {elapsed:.1f} s.",
        highlight=False,
    )


@app.command("assess")
def assess_schemes(
    protocol: Annotated[str, typer.Option(help="protocol file or library id")],
    n: Annotated[
        int | None, typer.Option("--n", help="participants per trial (default: planned n)")
    ] = None,
    runs: Annotated[int, typer.Option(help="simulated trials")] = 10_000,
    seed: Annotated[
        int | None, typer.Option(help="seed of the simulation (default: fresh)")
    ] = None,
    ratio: RatioOpt = None,
    block_sizes: BlocksOpt = None,
    stratum_probs: Annotated[
        str | None,
        typer.Option(help="probability of each stratum, in the order of the levels, e.g. 0.4,0.6"),
    ] = None,
    sites: Annotated[int, typer.Option(help="number of sites (drawn uniformly)")] = 1,
    effect_size: Annotated[
        float | None,
        typer.Option(help="standardized effect δ for power (default: 80 % power at target)"),
    ] = None,
    alpha: Annotated[float, typer.Option(help="two-sided level of the test")] = 0.05,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
) -> None:
    """Simulate the schemes applicable to a protocol: balance, predictability, power."""
    p = _load(protocol)
    alloc = p.design.allocation
    if p.design.assignment != "randomized":
        raise _fail(
            f"{p.id}: design.allocation.method is {alloc.method!r}: the trial is not randomized, "
            "so there is no scheme to assess"
        )
    size = n if n is not None else p.population.planned_n
    if size is None:
        raise _fail(f"--n: {p.id} has no population.planned_n; give --n")
    try:
        # Method is irrelevant here (all applicable schemes are simulated); ratio is needed.
        scheme = scheme_from_protocol(p, method="simple", ratio=ratio)
        factors = tuple(Factor(s.factor, tuple(s.levels)) for s in alloc.strata)
        mini = alloc.minimization
        specs = default_schemes(
            scheme.ratio,
            has_strata=bool(factors) or sites > 1,
            block_sizes=_ints(block_sizes, "--block-sizes") or alloc.block_sizes,
            imbalance=mini.imbalance if mini else "range",
            p_best=mini.p_best if mini else 0.8,
        )
        used_seed = seed if seed is not None else secrets.randbits(63)
        rng = np.random.default_rng(used_seed)
        total = size * len(specs)
        show_bar = runs * size >= 200_000
        with Progress(
            TextColumn("simulating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
            disable=not show_bar,
        ) as bar:
            task = bar.add_task("assess", total=total)
            started = time.perf_counter()
            result = assess(
                specs,
                n=size,
                runs=runs,
                ratio=scheme.ratio,
                factors=factors,
                rng=rng,
                stratum_probs=_floats(stratum_probs, "--stratum-probs"),
                sites=sites,
                effect_size=effect_size,
                alpha=alpha,
                progress=lambda k: bar.advance(task, k),
            )
            elapsed = time.perf_counter() - started
    except AllocationError as exc:
        raise _fail(_escape(str(exc))) from None
    if as_json:
        data = {"protocol": p.id, "seed": used_seed, **result.to_dict()}
        typer.echo(json.dumps(data, indent=2))
        return
    _show(result, p.id, used_seed, elapsed)
