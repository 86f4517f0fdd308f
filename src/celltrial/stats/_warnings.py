"""Warning classes of :mod:`celltrial.stats`.

A fit that R completes with a warning (an infinite or not estimable coefficient, a variance
component on its boundary) completes here too and warns with one of these classes, so a caller
can filter them by class (``warnings.simplefilter("error", NotEstimableWarning)``) and never
sees a numpy overflow or ``LinAlgError`` instead.
"""

from __future__ import annotations


class StatisticsWarning(UserWarning):
    """Base class of the warnings that ``celltrial.stats`` issues."""


class NotEstimableWarning(StatisticsWarning):
    """A parameter is infinite (monotone likelihood) or not identified (aliased, NA in R)."""


class BoundaryFitWarning(StatisticsWarning):
    """A variance component was estimated on the boundary of its space (a singular fit)."""
