"""Labels, not codes, on every page: filters over :mod:`celltrial.edc.labels` (installed as
template builtins in the settings, so no ``{% load %}`` is needed).

``{{ ae.relatedness|label:"relatedness" }}`` → ``Possibly related``;
``{{ m.unit|unit }}`` → ``mmHg``; ``{{ i.delivered|amount:i.unit }}`` → ``1.4 × 10^8 cells``;
``{{ ae.serious_criteria|labels:"seriousness" }}`` → ``Life-threatening, Hospitalisation …``.
Times need no filter: the page's views activate the site's time zone, so Django's ``date``
filter shows local time, and ``{{ tz }}`` names the zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from celltrial.edc import labels as registry

register = template.Library()


@register.filter
def label(code: Any, vocabulary: str) -> str:
    """The label of ``code`` in ``vocabulary`` (a name of :data:`~celltrial.edc.labels.VOCABULARIES`)."""
    return registry.label(vocabulary, code)


@register.filter
def labels(codes: Iterable[Any] | None, vocabulary: str) -> str:
    """The labels of a list of codes, joined with commas."""
    return ", ".join(registry.label(vocabulary, c) for c in codes or ())


@register.filter
def unit(code: str | None) -> str:
    """A UCUM unit as a person writes it (``mm[Hg]`` → ``mmHg``)."""
    return registry.unit(code)


@register.filter
def amount(value: float | None, unit_code: str = "") -> str:
    """An amount with its unit (``1.4e8``, ``cells`` → ``1.4 × 10^8 cells``)."""
    return registry.amount(value, unit_code)


@register.filter
def missing(record: Any, field: str) -> str:
    """The label of the missing-data code of ``record``'s ``field``, or ``""``."""
    codes = getattr(record, "missing", None) or {}
    return registry.label("missing", codes.get(field, ""))
