"""Units, cell counts and durations as a protocol writes them.

* Measurement units are UCUM codes (https://ucum.org), from a list of the units clinical trials
  of cell therapies use; an unknown unit gets a "did you mean" suggestion.
* Dose units are the few a cell-therapy protocol doses in: ``cells/kg``, ``cells`` (per
  administration), ``mL``, ``mL/kg``; and ``mg``, ``mg/kg`` for a drug (a control arm or a
  co-medication).
* Cell counts may be written as YAML numbers or as text the way papers write them:
  ``100e6``, ``1.0e8``, ``100 x 10^6``, ``5 × 10^5``.
* Durations are written ``48h``, ``3d``, ``2w`` (or ``-12h``) and held as whole hours.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Final

#: Units a dose may be written in, with what the amount is counted in and whether it scales
#: with body weight.
DOSE_UNITS: Final[dict[str, tuple[str, bool]]] = {
    "cells/kg": ("cells", True),
    "cells": ("cells", False),
    "mL": ("mL", False),
    "mL/kg": ("mL", True),
    "mg": ("mg", False),
    "mg/kg": ("mg", True),
}

#: UCUM codes accepted for measurements, with a plain-language name.
UCUM_UNITS: Final[dict[str, str]] = {
    "1": "unitless",
    "%": "percent",
    "{score}": "score",
    "{ratio}": "ratio",
    "{index}": "index",
    "{count}": "count",
    "{s/co}": "signal to cut-off ratio",
    "a": "year",
    "mo": "month",
    "wk": "week",
    "d": "day",
    "h": "hour",
    "min": "minute",
    "s": "second",
    "kg": "kilogram",
    "g": "gram",
    "cm": "centimetre",
    "m": "metre",
    "kg/m2": "kilogram per square metre",
    "m2": "square metre",
    "mm[Hg]": "millimetre of mercury",
    "cm[H2O]": "centimetre of water",
    "/min": "per minute",
    "Cel": "degree Celsius",
    "L": "litre",
    "mL": "millilitre",
    "L/min": "litre per minute",
    "mL/min": "millilitre per minute",
    "mL/min/{1.73_m2}": "millilitre per minute per 1.73 m2",
    "mL/kg": "millilitre per kilogram",
    "mg/L": "milligram per litre",
    "mg/dL": "milligram per decilitre",
    "g/L": "gram per litre",
    "g/dL": "gram per decilitre",
    "ug/L": "microgram per litre",
    "ug/mL": "microgram per millilitre",
    "ng/mL": "nanogram per millilitre",
    "pg/mL": "picogram per millilitre",
    "ug/mL{FEU}": "microgram per millilitre fibrinogen-equivalent units",
    "mmol/L": "millimole per litre",
    "umol/L": "micromole per litre",
    "U/L": "unit per litre",
    "[IU]/L": "international unit per litre",
    "[IU]/mL": "international unit per millilitre",
    "10*9/L": "10^9 per litre",
    "10*6/L": "10^6 per litre",
    "10*3/uL": "10^3 per microlitre",
    "/uL": "per microlitre",
    "cells/uL": "cells per microlitre",
    "{cells}": "cells",
    "{copies}/mL": "copies per millilitre",
    "[EU]/mL": "endotoxin unit per millilitre",
    "[EU]/kg": "endotoxin unit per kilogram",
    "mL3": "cubic millilitre",
    "cm3": "cubic centimetre",
    "[ppm]": "parts per million",
}

_COUNT_TEXT = re.compile(
    r"""^\s*
    (?P<mantissa>[+-]?\d+(?:\.\d+)?)\s*
    (?:
        [eE](?P<eexp>[+-]?\d+)
      | \s*[x×*]\s*10\s*(?:\^|\*\*)\s*(?P<pexp>[+-]?\d+)
    )?\s*$""",
    re.VERBOSE,
)

_DURATION = re.compile(r"^\s*(?P<sign>[+-])?\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>h|d|w)\s*$")
_HOURS_PER: Final[dict[str, int]] = {"h": 1, "d": 24, "w": 24 * 7}


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return f" (did you mean {lowered[word.lower()]!r}?)"
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_dose_unit(unit: str) -> str:
    """Return ``unit`` if it is a dose unit, else raise ``ValueError`` with a suggestion."""
    if unit in DOSE_UNITS:
        return unit
    raise ValueError(
        f"{unit!r} is not a known unit{suggest(unit, tuple(DOSE_UNITS))}; "
        f"dose units are {', '.join(DOSE_UNITS)}"
    )


def check_ucum(unit: str) -> str:
    """Return ``unit`` if it is one of the accepted UCUM codes, else raise ``ValueError``."""
    if unit in UCUM_UNITS:
        return unit
    raise ValueError(
        f"{unit!r} is not a known unit{suggest(unit, tuple(UCUM_UNITS))}; "
        "measurement units are UCUM codes listed in docs/protocol-format.md"
    )


def parse_count(value: object) -> float:
    """A positive amount from a number or text such as ``100e6``, ``100 x 10^6``, ``5 × 10^5``.

    Raises ``ValueError`` naming the accepted forms.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        match = _COUNT_TEXT.match(value)
        if not match:
            raise ValueError(
                f"{value!r} is not an amount; write a number such as 100e6, 1.0e8 or '100 x 10^6'"
            )
        exponent = match.group("eexp") or match.group("pexp") or "0"
        number = float(match.group("mantissa")) * 10.0 ** int(exponent)
    else:
        raise ValueError(f"{value!r} is not an amount")
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{value!r}: an amount must be a finite number >= 0")
    return number


def count_text(value: object) -> str | None:
    """The way an amount was written, normalised (``100 × 10^6``), if written with a power of 10."""
    if not isinstance(value, str):
        return None
    match = _COUNT_TEXT.match(value)
    if not match:
        return None
    exponent = match.group("eexp") or match.group("pexp")
    if exponent is None:
        return None
    return f"{match.group('mantissa')} × 10^{int(exponent)}"


def format_count(value: float) -> str:
    """``3.5 × 10^7`` for 35,000,000; plain digits below 10,000."""
    if value == 0:
        return "0"
    if abs(value) < 10_000:
        return f"{value:g}"
    exponent = math.floor(math.log10(abs(value)))
    mantissa = value / 10.0**exponent
    text = f"{mantissa:.3f}".rstrip("0").rstrip(".")
    if text == "10":  # rounding carried over
        text, exponent = "1", exponent + 1
    return f"{text} × 10^{exponent}"


def parse_duration(value: object) -> int:
    """Whole hours from ``'48h'``, ``'3d'``, ``'2w'``, ``'-12h'`` (an int is taken as hours).

    Raises ``ValueError`` when the text is not of that form or is not a whole number of hours.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            hours = float(match.group("num")) * _HOURS_PER[match.group("unit")]
            if hours != int(hours):
                raise ValueError(f"{value!r} is not a whole number of hours")
            return -int(hours) if match.group("sign") == "-" else int(hours)
    raise ValueError(
        f"{value!r} is not a duration; write a number with h, d or w, such as 6h, 3d, 2w, -12h"
    )


def format_duration(hours: int) -> str:
    """``3d``, ``6h``, ``3d 6h``; negative durations get a leading minus."""
    sign = "-" if hours < 0 else ""
    hours = abs(hours)
    days, rest = divmod(hours, 24)
    if days and rest:
        return f"{sign}{days}d {rest}h"
    if days:
        return f"{sign}{days}d"
    return f"{sign}{rest}h"
