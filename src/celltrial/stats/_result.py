"""The frozen result base of ``celltrial.stats`` is :class:`celltrial._result.Result`, the one
result base of celltrial (at the ground floor, beside ``protocol``); imported here so that the
statistics modules keep one import line for it."""

from celltrial._result import Result

__all__ = ["Result"]
