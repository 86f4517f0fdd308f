"""Forest and funnel plots of a pooled analysis (matplotlib, no display needed)."""

from __future__ import annotations

import io
import math

import matplotlib
import matplotlib.ticker
from matplotlib.figure import Figure

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from celltrial.evidence.pool import PoolResult, study_ci, to_table


def forest_plot(result: PoolResult) -> bytes:
    """A forest plot as PNG bytes: one row per study (square sized by weight), the pooled
    estimate as a diamond, and the prediction interval as a line under it."""
    rows = to_table(result)
    k = len(rows)
    fig, ax = plt.subplots(figsize=(8.5, 1.2 + 0.45 * (k + 3)), dpi=110)
    level = result.model.level
    total_w = sum(r["weight"] for r in rows) or 1.0
    for i, (row, study) in enumerate(zip(rows, result.studies, strict=True)):
        y = k - i + 1
        lo, hi = row["ci"]
        ax.plot([lo, hi], [y, y], color="#333", lw=1.2)
        size = 40 + 260 * row["weight"] / total_w
        ax.scatter([row["effect"]], [y], marker="s", s=size, color="#2b6cb0", zorder=3)
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
        -0.02,
        1,
        f"Pooled ({m.method}), {100 * level:g}% CI",
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
    ax.set_ylim(0, k + 2)
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
    fig.subplots_adjust(left=0.38, right=0.97, bottom=max(0.12, 0.55 / (k + 3)), top=0.9)
    return _png(fig)


def funnel_plot(result: PoolResult) -> bytes:
    """A funnel plot as PNG bytes: effect against standard error, with the pseudo 95 % region."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2), dpi=110)
    ses = [math.sqrt(s.vi) for s in result.studies]
    ys = [s.yi for s in result.studies]
    top = max(ses) * 1.1
    center = result.model.estimate
    ax.fill([center - 1.96 * top, center, center + 1.96 * top], [top, 0, top], color="#edf2f7")
    ax.axvline(center, color="#c05621", lw=1)
    ax.scatter(ys, ses, color="#2b6cb0", zorder=3)
    for s, y, se in zip(result.studies, ys, ses, strict=True):
        ax.annotate(s.label, (y, se), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_ylim(top, 0)
    ax.set_xlabel(f"{'log ' if result.ratio_scale else ''}{result.measure}")
    ax.set_ylabel("standard error")
    ax.set_title(f"Funnel plot, {result.outcome}", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


__all__ = ["forest_plot", "funnel_plot", "study_ci"]
