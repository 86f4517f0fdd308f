"""Sealed allocation lists: generation from a secret key, canonical form, commitment, verify.

Canonical form (format 1)
-------------------------
The file written is its own canonical form; nothing is normalised before hashing:

* UTF-8 without a byte-order mark, LF line ends, a final LF, no blank lines, no quoting;
* header lines ``# name=value`` in this order: ``format`` (``celltrial-sealed-list-1``),
  ``protocol``, ``protocol_version``, ``method``, ``arms`` (``a:b``), ``ratio`` (``1:1``),
  ``block_sizes`` (``2,4`` or ``-``), ``sites``, ``per_stratum``, ``generator``
  (``numpy-<version>-PCG64``), ``key_id`` (16 hex digits identifying the key),
  ``salt`` (64 hex digits);
* then the column line ``sequence,site,stratum,arm,kit_code`` and one row per position, with
  ``sequence`` = 1, 2, ... in file order; values use only ``A-Za-z0-9_.:+=;-``.

The **commitment** is the SHA-256 of the file's bytes, in lower-case hex. Publishing it (in the
registry or the statistical analysis plan) fixes the list without revealing it: the salt, a
256-bit value derived from the key, stops anyone who knows the blinded list (everything but the
arms) from recovering the arms by hashing every possible assignment. Any change of any byte
changes the commitment; :func:`verify` also says whether the changed file is still in canonical
form.

Reproducibility: the list is a deterministic function of the key and the options
(:func:`rng_from_key`), so whoever holds the key can regenerate it and check the commitment.
Streams of ``numpy.random.Generator`` may change between numpy versions (NEP 19); the version
used is recorded in ``generator``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from celltrial._result import Result
from celltrial.allocation._core import (
    AllocationError,
    Scheme,
    strata_cells,
)
from celltrial.allocation.blinding import UnblindingKey, kit_code_ok, make_kit_codes
from celltrial.allocation.schemes import permuted_blocks, simple_randomization

FORMAT = "celltrial-sealed-list-1"
HEADER_KEYS = (
    "format",
    "protocol",
    "protocol_version",
    "method",
    "arms",
    "ratio",
    "block_sizes",
    "sites",
    "per_stratum",
    "generator",
    "key_id",
    "salt",
)
COLUMNS = ("sequence", "site", "stratum", "arm", "kit_code")
KEY_BYTES = 32
MIN_KEY_BYTES = 16
_VALUE = re.compile(r"^[A-Za-z0-9_.:+=;,-]+$")
_CELL = re.compile(r"^[A-Za-z0-9_.:+=;-]+$")


@dataclasses.dataclass(frozen=True)
class ListRow:
    """One position of a sealed list."""

    sequence: int
    site: str
    stratum: str
    arm: str
    kit_code: str


@dataclasses.dataclass(frozen=True)
class BlindedRow:
    """One position as the blinded side sees it: no arm."""

    sequence: int
    site: str
    stratum: str
    kit_code: str


@dataclasses.dataclass(frozen=True)
class SealedList(Result):
    """A sealed allocation list: header (how it was made) and rows, in canonical order."""

    header: dict[str, str]
    rows: tuple[ListRow, ...]

    def canonical(self) -> bytes:
        """The canonical bytes (see the module docstring)."""
        lines = [f"# {k}={self.header[k]}" for k in HEADER_KEYS]
        lines.append(",".join(COLUMNS))
        lines += [f"{r.sequence},{r.site},{r.stratum},{r.arm},{r.kit_code}" for r in self.rows]
        return ("\n".join(lines) + "\n").encode("utf-8")

    def commitment(self) -> str:
        """SHA-256 of the canonical bytes, lower-case hex."""
        return hashlib.sha256(self.canonical()).hexdigest()

    def blinded(self) -> tuple[BlindedRow, ...]:
        """The list without arms, for the blinded side."""
        return tuple(BlindedRow(r.sequence, r.site, r.stratum, r.kit_code) for r in self.rows)

    def blinded_csv(self) -> str:
        """``sequence,site,stratum,kit_code`` lines for the blinded side."""
        body = "".join(f"{r.sequence},{r.site},{r.stratum},{r.kit_code}\n" for r in self.rows)
        return "sequence,site,stratum,kit_code\n" + body

    def key(self) -> UnblindingKey:
        """The unblinded mapping kit code -> arm."""
        return UnblindingKey(self.header["protocol"], {r.kit_code: r.arm for r in self.rows})

    def next_row(self, site: str, stratum: str, *, used: Collection[int]) -> ListRow:
        """The first row of ``(site, stratum)`` whose sequence number is not in ``used``.

        Raises
        ------
        AllocationError
            For a site or stratum not in the list, or when the stratum's rows are all used
            (the list is exhausted: nothing is allocated).
        """
        cell = [r for r in self.rows if r.site == site and r.stratum == stratum]
        if not cell:
            sites = sorted({r.site for r in self.rows})
            strata = sorted({r.stratum for r in self.rows})
            raise AllocationError(
                f"no rows for site {site!r}, stratum {stratum!r}; the list has sites {sites} and strata {strata}"
            )
        for r in cell:
            if r.sequence not in used:
                return r
        raise AllocationError(
            f"list exhausted for site {site!r}, stratum {stratum!r}: all {len(cell)} rows are used; "
            "generate an extension list with a new key"
        )


def key_id(key: bytes) -> str:
    """16 hex digits that identify a key without revealing it."""
    return hmac.new(key, b"celltrial key id", hashlib.sha256).hexdigest()[:16]


def rng_from_key(key: bytes, purpose: str) -> np.random.Generator:
    """A generator derived deterministically from the key and a purpose string.

    ``PCG64(SeedSequence(int(HMAC-SHA256(key, purpose))))``: independent streams for the list
    and for the kit codes, reproducible by whoever holds the key.
    """
    if len(key) < MIN_KEY_BYTES:
        raise AllocationError(
            f"seed file: a key needs at least {MIN_KEY_BYTES} bytes, got {len(key)}"
        )
    digest = hmac.new(key, purpose.encode("utf-8"), hashlib.sha256).digest()
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(int.from_bytes(digest, "big")))
    )


def read_or_create_key(path: Path) -> tuple[bytes, bool]:
    """The key in ``path``; if there is no such file, create it (32 bytes from ``secrets``,
    mode 0600) and say so with ``True``."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) < MIN_KEY_BYTES:
            raise AllocationError(
                f"--seed-file: {path} holds {len(key)} bytes; a key needs at least {MIN_KEY_BYTES}"
            ) from None
        return key, False
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    os.chmod(path, 0o600)
    return key, True


def key_file_is_private(path: Path) -> bool:
    """Whether only the owner may read the key file (no group/other permissions)."""
    return not (path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def site_names(n: int) -> tuple[str, ...]:
    """``site1 .. siteN``."""
    if n < 1:
        raise AllocationError(f"--sites: needs at least one site, got {n}")
    return tuple(f"site{i}" for i in range(1, n + 1))


def generate_list(
    scheme: Scheme,
    *,
    key: bytes,
    protocol: str,
    protocol_version: str,
    sites: Sequence[str],
    per_stratum: int,
) -> SealedList:
    """Generate the sealed list of a scheme from a secret key.

    One independent list per cell = site × stratum, in site order then stratum order; strata
    are the protocol's strata for ``stratified_blocks`` and a single ``all`` otherwise. Block
    schemes hold whole blocks (at least ``per_stratum`` rows per cell); simple randomization
    exactly ``per_stratum``. Kit codes are drawn from a separate stream, independent of arms.

    Raises
    ------
    AllocationError
        For minimization (which cannot be listed: use :class:`~celltrial.allocation.Minimizer`),
        for ``per_stratum < 1``, and for bad block sizes.
    """
    if scheme.method == "minimization":
        raise AllocationError(
            "method: minimization cannot be pre-listed (each assignment depends on earlier ones); "
            "allocate with Minimizer and keep its decision log"
        )
    if per_stratum < 1:
        raise AllocationError(f"--per-stratum: needs at least 1, got {per_stratum}")
    for s in sites:
        if not _CELL.match(s):
            raise AllocationError(f"sites: {s!r} may use only letters, digits and _.:+=;-")
    rng = rng_from_key(key, f"list:{protocol}")
    strata = strata_cells(scheme.factors) if scheme.method == "stratified_blocks" else ("all",)
    cells: list[tuple[str, str, tuple[str, ...]]] = []
    for site in sites:
        for stratum in strata:
            if scheme.method == "simple":
                seq = simple_randomization(per_stratum, ratio=scheme.ratio, rng=rng)
            else:
                assert scheme.block_sizes is not None
                seq = permuted_blocks(
                    per_stratum, ratio=scheme.ratio, block_sizes=scheme.block_sizes, rng=rng
                )
            cells.append((site, stratum, seq.arms))
    n = sum(len(c[2]) for c in cells)
    kits = make_kit_codes(n, rng=rng_from_key(key, f"kits:{protocol}"))
    rows: list[ListRow] = []
    for site, stratum, arms in cells:
        for arm in arms:
            rows.append(ListRow(len(rows) + 1, site, stratum, arm, kits[len(rows)]))
    header = {
        "format": FORMAT,
        "protocol": protocol,
        "protocol_version": protocol_version,
        "method": scheme.method,
        "arms": ":".join(scheme.ratio.arms),
        "ratio": scheme.ratio.text(),
        "block_sizes": ",".join(str(b) for b in scheme.block_sizes) if scheme.block_sizes else "-",
        "sites": str(len(sites)),
        "per_stratum": str(per_stratum),
        "generator": f"numpy-{np.__version__}-PCG64",
        "key_id": key_id(key),
        "salt": hmac.new(key, f"salt:{protocol}".encode(), hashlib.sha256).hexdigest(),
    }
    for name, value in header.items():
        if not _VALUE.match(value):
            raise AllocationError(f"{name}: {value!r} may use only letters, digits and _.:+=;,-")
    return SealedList(header, tuple(rows))


def parse_list(data: bytes) -> SealedList:
    """Read a sealed list, strictly: any departure from the canonical form is an error naming
    the line (1-based) and the rule."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AllocationError(f"byte {exc.start + 1}: not UTF-8") from None
    if text.startswith("\ufeff"):
        raise AllocationError("line 1: starts with a byte-order mark")
    if "\r" in text:
        where = text[: text.index("\r")].count("\n") + 1
        raise AllocationError(f"line {where}: carriage return; lines end with LF only")
    if not text.endswith("\n"):
        raise AllocationError("last line: the file must end with a line feed")
    lines = text[:-1].split("\n")
    header: dict[str, str] = {}
    for i, name in enumerate(HEADER_KEYS):
        line = lines[i] if i < len(lines) else ""
        prefix = f"# {name}="
        if not line.startswith(prefix) or not _VALUE.match(line[len(prefix) :]):
            raise AllocationError(f"line {i + 1}: expected header '{prefix}<value>', got {line!r}")
        header[name] = line[len(prefix) :]
    if header["format"] != FORMAT:
        raise AllocationError(f"line 1: format {header['format']!r} is not {FORMAT}")
    at = len(HEADER_KEYS)
    if len(lines) <= at or lines[at] != ",".join(COLUMNS):
        raise AllocationError(f"line {at + 1}: expected the column line {','.join(COLUMNS)!r}")
    rows: list[ListRow] = []
    for n, line in enumerate(lines[at + 1 :], start=at + 2):
        parts = line.split(",")
        if len(parts) != len(COLUMNS) or not all(p and _CELL.match(p) for p in parts):
            raise AllocationError(
                f"line {n}: expected {len(COLUMNS)} non-empty plain values, got {line!r}"
            )
        if parts[0] != str(len(rows) + 1):
            raise AllocationError(f"line {n}: sequence {parts[0]!r}, expected {len(rows) + 1}")
        if not kit_code_ok(parts[4]):
            raise AllocationError(
                f"line {n}: kit code {parts[4]!r} has a wrong format or check symbol"
            )
        rows.append(ListRow(len(rows) + 1, parts[1], parts[2], parts[3], parts[4]))
    if not rows:
        raise AllocationError("the list has no rows")
    sealed = SealedList(header, tuple(rows))
    if sealed.canonical() != data:  # pragma: no cover - every rule above is checked already
        raise AllocationError("the file is not in canonical form")
    return sealed


@dataclasses.dataclass(frozen=True)
class Verification(Result):
    """Outcome of :func:`verify`.

    Attributes
    ----------
    ok : True when the file's SHA-256 equals the commitment.
    digest : SHA-256 of the file, hex.
    commitment : the commitment it was compared with.
    canonical : whether the file is in canonical form (a changed file may still be).
    message : a sentence saying what was found.
    """

    ok: bool
    digest: str
    commitment: str
    canonical: bool
    message: str


def verify(data: bytes, commitment: str) -> Verification:
    """Check a list's bytes against a published commitment (constant-time comparison).

    Raises
    ------
    AllocationError
        When ``commitment`` is not 64 hex digits.
    """
    expected = commitment.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise AllocationError(
            f"--commitment: expected 64 hexadecimal digits (a SHA-256), got {commitment!r}"
        )
    digest = hashlib.sha256(data).hexdigest()
    problem: str | None = None
    try:
        parse_list(data)
    except AllocationError as exc:
        problem = str(exc)
    if hmac.compare_digest(digest, expected):
        return Verification(
            True, digest, expected, problem is None, "the list matches the commitment"
        )
    if problem is not None:
        why = f"it is not in canonical form ({problem})"
    else:
        why = "it is in canonical form, so a value was changed or a row added, removed or moved"
    msg = f"the list does not match the commitment: its SHA-256 is {digest}, the commitment is {expected}; {why}"
    return Verification(False, digest, expected, problem is None, msg)
