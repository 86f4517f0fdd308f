"""The report's figures (matplotlib, Agg), each returned as inline SVG text.

Every function takes ``arms``: the (id, label) columns to draw. The blinded report passes the
pooled column only, so no arm appears in any figure.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from celltrial.analysis import (
    POOLED,
    ArmSurvival,
    Consort,
    ConsortArm,
    ContinuousResult,
    Effect,
    TimeToEventResult,
)

COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d35400")
POOLED_COLOUR = "#333333"
plt.rcParams.update(
    {
        "svg.fonttype": "none",
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.hashsalt": "celltrial",
    }
)


def svg(fig: Figure) -> str:
    """The figure as inline SVG (no XML prolog), and close it."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def colour(i: int, arm: str) -> str:
    return POOLED_COLOUR if arm == POOLED else COLOURS[i % len(COLOURS)]


def _step(ax: Axes, a: ArmSurvival, c: str, label: str, incidence: bool) -> None:
    t = np.concatenate(([0.0], a.km.time))
    s = np.concatenate(([1.0], a.km.estimate))
    y = 1.0 - s if incidence else s
    ax.step(t, y, where="post", color=c, lw=1.6, label=label)
    cens = a.km.n_censor > 0
    ax.plot(
        a.km.time[cens],
        (1.0 - a.km.estimate[cens]) if incidence else a.km.estimate[cens],
        "|",
        color=c,
        ms=6,
    )


def km_plot(r: TimeToEventResult, arms: Sequence[tuple[str, str]]) -> str:
    """Kaplan–Meier curves with the number at risk under them."""
    curves = {a.arm: a for a in (*r.arms, r.pooled)}
    shown = [(i, a, lab) for i, (a, lab) in enumerate(arms) if a in curves]
    horizon = r.horizon if math.isfinite(r.horizon) else float(r.pooled.km.time.max(initial=1))
    fig = plt.figure(figsize=(6.4, 3.2 + 0.22 * len(shown)))
    gs = fig.add_gridspec(2, 1, height_ratios=[5, 0.5 + 0.45 * len(shown)], hspace=0.35)
    ax = fig.add_subplot(gs[0])
    for i, a, lab in shown:
        _step(ax, curves[a], colour(i, a), lab, incidence=False)
    ax.set_xlim(0, horizon)
    ax.set_ylim(-0.02, 1.03)
    ax.set_ylabel("Probability (event-free)")
    ax.set_xlabel("Days from first administration" if r.pooled.km.n else "Days")
    ax.set_title(r.label, loc="left", fontsize=10)
    if len(shown) > 1:
        ax.legend(frameon=False, loc="lower left")
    ticks = np.linspace(0, horizon, 6 if horizon > 10 else int(horizon) + 1)
    ticks = np.unique(np.round(ticks))
    ax.set_xticks(ticks)
    risk = fig.add_subplot(gs[1], sharex=ax)
    risk.set_axis_off()
    risk.text(0, 1.05, "Number at risk", transform=risk.transAxes, fontsize=8, weight="bold")
    for row, (i, a, lab) in enumerate(shown):
        km = curves[a].km
        y = 1 - (row + 1) / (len(shown) + 0.5)
        for t in ticks:
            n = int(np.sum(km.n_event[km.time >= t]) + np.sum(km.n_censor[km.time >= t]))
            risk.text(t, y, str(n), ha="center", va="center", fontsize=8, color=colour(i, a))
        risk.text(
            -0.06,
            y,
            lab,
            ha="right",
            va="center",
            fontsize=8,
            color=colour(i, a),
            transform=risk.get_yaxis_transform(),
        )
    return svg(fig)


def cif_plot(r: TimeToEventResult, arms: Sequence[tuple[str, str]]) -> str:
    """Cumulative incidence of the endpoint event (cause 1) by arm (or pooled)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    for i, (a, lab) in enumerate(arms):
        res = r.pooled_incidence if a == POOLED else r.cumulative_incidence
        if res is None:
            continue
        try:
            c = res.curve(None if a == POOLED else a)
        except (KeyError, ValueError):
            continue
        k = list(c.causes).index(1) if 1 in c.causes else 0
        est = c.estimate[:, k] if c.estimate.ndim == 2 else c.estimate
        t = np.concatenate(([0.0], c.time))
        ax.step(t, np.concatenate(([0.0], est)), where="post", color=colour(i, a), label=lab)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Days")
    ax.set_ylabel("Cumulative incidence")
    ax.set_title(f"{r.label}: cumulative incidence (competing risks)", loc="left", fontsize=10)
    if len(arms) > 1:
        ax.legend(frameon=False)
    return svg(fig)


def trajectory_plot(r: ContinuousResult, arms: Sequence[tuple[str, str]]) -> str:
    """Median and IQR of the measurement by analysis visit and arm."""
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    offsets = np.linspace(-0.15, 0.15, max(len(arms), 1)) if len(arms) > 1 else [0.0]
    for i, (a, lab) in enumerate(arms):
        pts = sorted((p for p in r.trajectory if p.arm == a), key=lambda p: p.day)
        if not pts:
            continue
        x = np.array([p.day for p in pts]) + offsets[i]
        med = np.array([p.median for p in pts])
        lo = med - np.array([p.q1 for p in pts])
        hi = np.array([p.q3 for p in pts]) - med
        ax.errorbar(
            x,
            med,
            yerr=[lo, hi],
            color=colour(i, a),
            marker="o",
            ms=4,
            capsize=3,
            lw=1.4,
            label=lab,
        )
    unit = f" ({r.unit})" if r.unit else ""
    ax.set_ylabel(f"{r.measurement.upper()}{unit}, median (IQR)")
    ax.set_xlabel("Day (analysis visit)")
    ax.set_title(f"{r.label}: values by visit", loc="left", fontsize=10)
    if len(arms) > 1:
        ax.legend(frameon=False)
    return svg(fig)


def forest_plot(effects: Sequence[tuple[str, Effect]], labels: dict[str, str]) -> str:
    """One row per effect, each on its own axis (ratios on a log axis)."""
    rows = [(name, e) for name, e in effects]
    fig, axes = plt.subplots(len(rows), 1, figsize=(7.0, 0.95 * len(rows) + 0.4), squeeze=False)
    for ax, (name, e) in zip(axes[:, 0], rows, strict=True):
        ax.axvline(e.null, color="#888888", lw=0.8, ls="--")
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        vs = f"{labels.get(e.treatment, e.treatment)} vs {labels.get(e.reference, e.reference)}"
        ax.set_title(f"{name} — {e.measure}, {vs}", loc="left", fontsize=8.5)
        if e.estimable and all(math.isfinite(x) and (x > 0 or not e.log_scale) for x in e.ci):
            ax.plot([e.ci[0], e.ci[1]], [0, 0], color="#1f5fa8", lw=2)
            ax.plot([e.estimate], [0], "s", color="#1f5fa8", ms=6)
            lo, hi = min(e.ci[0], e.null), max(e.ci[1], e.null)
            if e.log_scale:
                ax.set_xscale("log")
                ax.set_xlim(lo / 1.5, hi * 1.5)
            else:
                pad = 0.1 * (hi - lo or 1)
                ax.set_xlim(lo - pad, hi + pad)
            text = f"{e.estimate:.3g} ({e.ci[0]:.3g} to {e.ci[1]:.3g})"
        else:
            ax.set_xlim(-1, 1) if not e.log_scale else ax.set_xlim(0.1, 10)
            if e.log_scale:
                ax.set_xscale("log")
            text = "not estimable"
        ax.text(1.01, 0.5, text, transform=ax.transAxes, va="center", fontsize=8)
    fig.subplots_adjust(hspace=2.2, left=0.03, right=0.72)
    return svg(fig)


def _box(ax: Axes, x: float, y: float, w: float, h: float, text: str) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle="square,pad=0", fc="white", ec="#222222", lw=1
        )
    )
    if "\n" in text:
        ax.text(x - w / 2 + 0.15, y, text, ha="left", va="center", fontsize=7.5, linespacing=1.35)
    else:
        ax.text(x, y, text, ha="center", va="center", fontsize=7.5)


def _arrow(ax: Axes, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate(
        "",
        xy=(x1, y1),
        xytext=(x0, y0),
        arrowprops={"arrowstyle": "-|>", "color": "#222222", "lw": 1},
    )


def _reasons(items: Sequence[tuple[str, int]]) -> str:
    return "".join(f"\n\u00a0\u00a0\u00a0◦ {k} (n={v})" for k, v in items)


def consort_plot(c: Consort, columns: Sequence[ConsortArm], *, assigned: str = "Randomized") -> str:
    """CONSORT 2025 flow diagram: enrolment, allocation, follow-up, analysis.

    ``assigned`` heads the allocation box ("Assigned" for a non-randomized design)."""
    k = len(columns)
    width = max(11.0, 4.8 * k)
    fig, ax = plt.subplots(figsize=(width * 0.8, 8.8))
    ax.set_xlim(0, width)
    ax.set_ylim(0, 100)
    ax.set_axis_off()
    mid = width / 2
    top = 94
    if c.screened is not None:
        _box(ax, mid, top, 4.2, 6, f"Assessed for eligibility (n={c.screened})")
        excl = (c.ineligible or 0) + sum(v for _, v in c.not_randomized)
        text = f"Excluded (n={excl})\n• Not meeting eligibility criteria (n={c.ineligible})"
        text += _reasons(c.ineligible_reasons)
        for reason, n in c.not_randomized:
            text += f"\n• {reason} (n={n})"
        lines = text.count("\n") + 1
        ex_x = min(mid + 3.4, width - 2.6)
        _box(ax, ex_x, top - 10, 5.0, 2.2 * lines + 2, text)
        _arrow(ax, mid, top - 3, mid, 73)
        _arrow(ax, mid, top - 10, ex_x - 2.5, top - 10)
    _box(ax, mid, 70, 3.4, 5, f"{assigned} (n={c.randomized})")
    ys = {"alloc": 52, "follow": 31, "anal": 11}
    for name, y in (
        ("Allocation", ys["alloc"]),
        ("Follow-up", ys["follow"]),
        ("Analysis", ys["anal"]),
    ):
        ax.text(0.05, y + 8, name, fontsize=9, weight="bold", color="#1f5fa8")
        ax.plot([0.05, width - 0.05], [y + 10.5, y + 10.5], color="#1f5fa8", lw=0.6)
    slot = width / k
    for i, col in enumerate(columns):
        x = slot * (i + 0.5)
        w = min(slot - 0.5, 4.6)
        head = "" if col.arm == POOLED else f"{col.label}\n"
        alloc = f"{head}Allocated (n={col.allocated})\n• Received allocated intervention (n={col.received})"
        if col.not_received:
            alloc += f"\n• Did not receive it (n={sum(v for _, v in col.not_received)})"
            alloc += _reasons(col.not_received)
        _box(ax, x, ys["alloc"], w, 15, alloc)
        follow = f"Lost to follow-up (n={col.lost_to_follow_up})"
        follow += f"\nDiscontinued (n={col.discontinued})" + _reasons(col.discontinued_reasons)
        follow += f"\nCompleted (n={col.completed})"
        if col.ongoing:
            follow += f"\nStill in follow-up, ongoing (n={col.ongoing})"
        _box(ax, x, ys["follow"], w, 15, follow)
        anal = f"Analysed (n={col.analysed})"
        if col.excluded:
            anal += f"\n• Excluded from analysis (n={sum(v for _, v in col.excluded)})"
            anal += _reasons(col.excluded)
        _box(ax, x, ys["anal"], w, 12, anal)
        _arrow(ax, mid, 67.5, x, ys["alloc"] + 7.5)
        _arrow(ax, x, ys["alloc"] - 7.5, x, ys["follow"] + 7.5)
        _arrow(ax, x, ys["follow"] - 7.5, x, ys["anal"] + 6)
    return svg(fig)
