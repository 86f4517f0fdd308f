"""Forest and funnel plots of a pooled analysis (matplotlib, no display needed)."""

from __future__ import annotations

import io
import math

import matplotlib
import matplotlib.ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from celltrial.evidence.pool import PoolResult, study_ci, to_table


def forest_plot(result: PoolResult) -> bytes:
    """The forest plot of :func:`forest_figure` as PNG bytes."""
    return _png(forest_figure(result))


def forest_figure(result: PoolResult) -> Figure:
    """A forest plot as PNG bytes: one row per study (square sized by weight) with its counts
    on the left and its estimate, CI and weight beside it on the right, as reviewers read
    them (RevMan, metafor's ``forest``); the pooled estimate as a diamond, and the prediction
    interval as a line under it."""
    rows = to_table(result)
    k = len(rows)
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.45 * (k + 3)), dpi=110)
    right = ax.get_yaxis_transform()
    level_pct = f"{100 * result.model.level:g}%"
    ax.text(
        1.03,
        k + 1.75,
        f"{result.measure} [{level_pct} CI]",
        transform=right,
        ha="left",
        va="center",
        fontsize=9,
        fontweight="bold",
    )
    ax.text(
        1.72,
        k + 1.75,
        "Weight",
        transform=right,
        ha="right",
        va="center",
        fontsize=9,
        fontweight="bold",
    )
    ax.text(
        -0.02,
        k + 1.75,
        "Study (events/n: experimental vs control)",
        transform=right,
        ha="right",
        va="center",
        fontsize=9,
        fontweight="bold",
    )
    level = result.model.level
    total_w = sum(r["weight"] for r in rows) or 1.0
    for i, (row, study) in enumerate(zip(rows, result.studies, strict=True)):
        y = k - i + 1
        lo, hi = row["ci"]
        ax.plot([lo, hi], [y, y], color="#333", lw=1.2)
        size = 40 + 260 * row["weight"] / total_w
        ax.scatter([row["effect"]], [y], marker="s", s=size, color="#2b6cb0", zorder=3)
        ax.text(
            1.03,
            y,
            f"{row['effect']:.2f} [{lo:.2f}, {hi:.2f}]",
            transform=right,
            ha="left",
            va="center",
            fontsize=9,
            family="monospace",
        )
        ax.text(
            1.72,
            y,
            f"{row['weight']:.1f}%" + (" *" if row["corrected"] else "  "),
            transform=right,
            ha="right",
            va="center",
            fontsize=9,
            family="monospace",
        )
        ax.text(
            -0.02,
            y,
            f"{row['study']}  ({row['experimental']} vs {row['control']})",
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=9,
        )
        del study
    m = result.model
    est, (lo, hi) = result.back(m.estimate), (result.back(m.ci[0]), result.back(m.ci[1]))
    ax.fill([lo, est, hi, est], [1, 1.25, 1, 0.75], color="#c05621", zorder=3)
    ax.text(
        1.03,
        1,
        f"{est:.2f} [{lo:.2f}, {hi:.2f}]",
        transform=right,
        ha="left",
        va="center",
        fontsize=9,
        family="monospace",
        fontweight="bold",
    )
    ax.text(
        1.72,
        1,
        "100%",
        transform=right,
        ha="right",
        va="center",
        fontsize=9,
        family="monospace",
        fontweight="bold",
    )
    ax.text(
        -0.02,
        1,
        f"Pooled ({_model_name(m.method)}), {100 * level:g}% CI",
        transform=ax.get_yaxis_transform(),
        ha="right",
        va="center",
        fontsize=9,
        fontweight="bold",
    )
    if m.prediction_interval is not None:
        a, b = (result.back(v) for v in m.prediction_interval)
        ax.plot([a, b], [0.35, 0.35], color="#c05621", lw=2, alpha=0.6)
        ax.text(
            1.03,
            0.35,
            f"[{a:.2f}, {b:.2f}]",
            transform=right,
            ha="left",
            va="center",
            fontsize=8,
            family="monospace",
        )
        ax.text(
            -0.02,
            0.35,
            "Prediction interval",
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=8,
        )
    null = 1.0 if result.ratio_scale else 0.0
    ax.axvline(null, color="#888", ls="--", lw=1)
    if result.ratio_scale:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_ylim(0, k + 2.2)
    ax.set_yticks([])
    ax.set_xlabel(
        f"{result.measure} ({'log scale' if result.ratio_scale else 'difference'}); < {null:g} favours the experimental arm"
    )
    ax.set_title(
        f"{result.outcome}: pooled {result.measure} {est:.3g} ({lo:.3g} to {hi:.3g}), "
        f"I² = {m.i2:.0f}%",
        fontsize=10,
    )
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    fig.subplots_adjust(left=0.30, right=0.60, bottom=max(0.12, 0.55 / (k + 3)), top=0.9)
    return fig


def funnel_plot(result: PoolResult) -> bytes:
    """The funnel plot of :func:`funnel_figure` as PNG bytes."""
    return _png(funnel_figure(result))


def funnel_figure(result: PoolResult) -> Figure:
    """A funnel plot: effect against standard error, with the pseudo 95 % region; labels are
    placed so that none overlaps another."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2), dpi=110)
    ses = [math.sqrt(s.vi) for s in result.studies]
    ys = [s.yi for s in result.studies]
    top = max(ses) * 1.1
    center = result.model.estimate
    ax.fill([center - 1.96 * top, center, center + 1.96 * top], [top, 0, top], color="#edf2f7")
    ax.axvline(center, color="#c05621", lw=1)
    ax.scatter(ys, ses, color="#2b6cb0", zorder=3)
    ax.set_ylim(top, 0)
    ax.set_xlim(center - 1.96 * top * 1.05, center + 1.96 * top * 1.05)
    ax.set_xlabel(f"{'log ' if result.ratio_scale else ''}{result.measure}")
    ax.set_ylabel("standard error")
    ax.set_title(f"Funnel plot, {result.outcome}", fontsize=10)
    fig.tight_layout()
    _place_labels(fig, ax, [s.label for s in result.studies], ys, ses)
    return fig


def _model_name(method: str) -> str:
    return "fixed effect" if method == "FE" else f"{method} random effects"


def _place_labels(
    fig: Figure, ax: Axes, labels: list[str], xs: list[float], ys: list[float]
) -> None:
    """Label points without overlap: each label goes at the first free spot (right, left, then
    further up or down) and is joined to its point by a thin line when moved away from it."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    placed: list[Bbox] = []
    order = sorted(range(len(labels)), key=lambda i: (ys[i], xs[i]))
    offsets = [(5, 3), (-5, 3)]
    for step in range(1, 12):
        offsets += [
            (5, 3 + 11 * step),
            (5, 3 - 11 * step),
            (-5, 3 + 11 * step),
            (-5, 3 - 11 * step),
        ]
    for i in order:
        for dx, dy in offsets:
            text = ax.annotate(
                labels[i],
                (xs[i], ys[i]),
                textcoords="offset points",
                xytext=(dx, dy),
                ha="left" if dx > 0 else "right",
                va="bottom",
                fontsize=8,
                arrowprops=(
                    {"arrowstyle": "-", "color": "#718096", "lw": 0.7, "shrinkA": 0, "shrinkB": 3}
                    if abs(dy) > 3
                    else None
                ),
            )
            box = text.get_window_extent(renderer).expanded(1.02, 1.1)
            inside = ax.get_window_extent(renderer)
            clash = any(box.overlaps(b) for b in placed) or not (
                inside.x0 - 40 <= box.x0 and box.x1 <= inside.x1 + 40
            )
            if not clash or (dx, dy) == offsets[-1]:
                placed.append(box)
                break
            text.remove()


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


__all__ = ["forest_figure", "forest_plot", "funnel_figure", "funnel_plot", "study_ci"]
