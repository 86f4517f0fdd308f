"""R's ``uniroot`` (Brent's ``zeroin``, as in R's ``src/library/stats/src/zeroin.c``).

Several R results (``fisher.test``'s conditional MLE and exact CI, ``wilcox.test``'s asymptotic
Hodges–Lehmann estimate and CI) are roots found by ``uniroot`` with a coarse tolerance
(``.Machine$double.eps^0.25`` by default, 1e-4 in ``wilcox.test``). To give R's numbers rather
than the exact roots, the same algorithm with the same tolerance is used here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS = float(np.finfo(float).eps)
R_UNIROOT_TOL = EPS**0.25


def uniroot(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    *,
    tol: float = R_UNIROOT_TOL,
    f_lower: float | None = None,
    f_upper: float | None = None,
    maxiter: int = 1000,
) -> float:
    """Root of ``f`` in ``[lower, upper]`` exactly as R's ``uniroot(f, c(lower, upper))``."""
    fa = f(lower) if f_lower is None else f_lower
    fb = f(upper) if f_upper is None else f_upper
    if fa * fb > 0:
        raise ValueError("uniroot: f() values at end points not of opposite sign")
    return _zeroin2(f, lower, upper, fa, fb, tol, maxiter)


def _zeroin2(
    f: Callable[[float], float],
    ax: float,
    bx: float,
    fa: float,
    fb: float,
    tol: float,
    maxit: int,
) -> float:
    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    maxit += 1
    while maxit:
        maxit -= 1
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b
