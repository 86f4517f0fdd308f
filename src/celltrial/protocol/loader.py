"""Loading protocol YAML with one clear message per problem.

Every problem names the file, the line, the field path and the rule, for example::

    lanzoni2021.yaml:42 arms[0].dose.unit: 'cell/kg' is not a known unit (did you mean 'cells/kg'?)

The YAML is composed into nodes first, so each key's line is known; pydantic validates the
types; :mod:`.checks` adds the cross-field rules. A user's mistake is reported, never raised as
a traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, cast

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from celltrial.protocol.checks import CHECKS, check_protocol
from celltrial.protocol.models import Protocol
from celltrial.protocol.units import suggest

FieldPath = tuple[str | int, ...]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem in a protocol file."""

    file: str
    line: int | None
    path: FieldPath
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = format_path(self.path)
        return f"{where} {field}: {self.message}" if field else f"{where}: {self.message}"


class ProtocolError(ValueError):
    """A protocol file that does not validate; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def format_path(path: FieldPath) -> str:
    """``arms[0].dose.unit`` from ``("arms", 0, "dose", "unit")``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class _Lines:
    """Line numbers (1-based) of every key and list item of a composed YAML document."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.lines: dict[FieldPath, int] = {}
        self.duplicates: list[tuple[FieldPath, int]] = []
        if root is not None:
            self.lines[()] = root.start_mark.line + 1
            self._walk(root, ())

    def _walk(self, node: yaml.Node, path: FieldPath) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = str(key.value)
                child = (*path, name)
                if name in seen:
                    self.duplicates.append((child, key.start_mark.line + 1))
                seen.add(name)
                self.lines[child] = key.start_mark.line + 1
                self._walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                child = (*path, i)
                self.lines[child] = item.start_mark.line + 1
                self._walk(item, child)

    def line(self, path: FieldPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor present in the file."""
        for cut in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:cut]))
            if found is not None:
                return found
        return None


def _model_types(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside a field annotation (``list[Arm] | None`` -> [Arm])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_model_types(arg))
    return found


def _fields_at(path: FieldPath) -> list[str]:
    """The field names allowed in the mapping at ``path`` (for "did you mean")."""
    model: type[BaseModel] = Protocol
    for part in path:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        inner = _model_types(info.annotation) if info is not None else []
        if not inner:
            return []
        model = inner[0]
    return [info.alias or name for name, info in model.model_fields.items() if name != "unknowns"]


_TYPE_TAGS = {"str", "int", "float", "bool", "dict", "list", "tuple"}


def _clean_loc(loc: tuple[Any, ...]) -> FieldPath:
    """Drop pydantic's union/function tags from an error location."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, int):
            out.append(part)
        elif _is_tag(part):
            continue
        else:
            out.append(part)
    return tuple(out)


def _message(err: Any, path: FieldPath) -> str:
    kind = err["type"]
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        name = str(path[-1])
        return f"{name!r} is not a field here{suggest(name, _fields_at(path[:-1]))}"
    if kind == "missing":
        return "required, but missing"
    if kind in ("value_error", "assertion_error"):
        return msg
    value = err.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return f"{shown}: {msg[0].lower()}{msg[1:]}" if msg else shown


_TOP_TYPE_ERRORS = {
    "string_type",
    "dict_type",
    "list_type",
    "model_type",
    "model_attributes_type",
    "int_type",
    "float_type",
    "bool_type",
    "literal_error",
    "tuple_type",
}


def _is_tag(part: object) -> bool:
    return isinstance(part, str) and ("[" in part or part in _TYPE_TAGS)


def _union_noise(errors: list[Any]) -> set[int]:
    """Errors of union branches that failed only on the outer type while another branch
    got further (``{ucmsc: 2, placebo: 1.5}`` is not "a valid string")."""
    groups: dict[FieldPath, list[int]] = {}
    for i, err in enumerate(errors):
        loc = err["loc"]
        cut = next((k for k, part in enumerate(loc) if _is_tag(part)), None)
        if cut is not None:
            groups.setdefault(_clean_loc(loc[:cut]), []).append(i)
    noise: set[int] = set()
    for prefix, members in groups.items():
        if len(members) < 2:
            continue
        shallow = [
            i
            for i in members
            if errors[i]["type"] in _TOP_TYPE_ERRORS and _clean_loc(errors[i]["loc"]) == prefix
        ]
        if len(shallow) < len(members):
            noise.update(shallow)
        else:  # every branch failed at the top: keep the first branch's message only
            noise.update(shallow[1:])
    return noise


def _validation_problems(exc: ValidationError, file: str, lines: _Lines) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[FieldPath] = set()
    errors = exc.errors()
    noise = _union_noise(errors)
    for i, err in enumerate(errors):
        if i in noise or "'unknown'" in str(err["msg"]):
            continue
        path = _clean_loc(err["loc"])
        if path in seen:
            continue
        seen.add(path)
        line = lines.line(path[:-1] if err["type"] == "missing" else path)
        problems.append(Problem(file, line, path, _message(err, path)))
    return problems


class _Broken(Exception):
    """A part of the file that cannot be read as its model."""


_LEFT_OUT = object()


def _partial(model: type[BaseModel], data: Any, broken: list[FieldPath]) -> BaseModel:
    """``data`` as a ``model`` whose fields on a ``broken`` path are left out (reading one
    raises AttributeError), recursing into nested models and lists of models; every other
    field is validated on its own, as the whole model would validate it."""
    if not isinstance(data, Mapping):
        raise _Broken
    record = getattr(model, "_record_unknowns", None)
    given = dict(record(data) if record is not None else data)
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in given:
            continue
        if name == "unknowns":
            values[name] = given[key]
            continue
        below = [path[1:] for path in broken if path and path[0] == key]
        values[name] = _LEFT_OUT
        if not below:
            with contextlib.suppress(ValidationError, TypeError):
                field: Any = Annotated[info.annotation, info]  # the field as the model has it
                values[name] = TypeAdapter(field).validate_python(given[key])
            continue
        inner = _model_types(info.annotation)
        if any(not p for p in below) or len(inner) != 1:
            continue
        try:
            if isinstance(given[key], list):
                values[name] = [
                    _partial(inner[0], item, [p[1:] for p in below if p[0] == i])
                    for i, item in enumerate(given[key])
                ]
            else:
                values[name] = _partial(inner[0], given[key], below)
        except _Broken:
            pass
    built = model.model_construct(**{k: v for k, v in values.items() if v is not _LEFT_OUT})
    for name, value in values.items():
        if value is _LEFT_OUT:
            built.__dict__.pop(name, None)
    return built


def _checks_despite(data: Any, exc: ValidationError) -> list[tuple[FieldPath, str]]:
    """The cross-field problems of a file with type errors: each check runs on the protocol
    with the broken parts left out, and a check that reads one of them is skipped (it would
    judge a value the file does not validly give)."""
    broken = [_clean_loc(err["loc"]) for err in exc.errors()]
    try:
        protocol = cast(Protocol, _partial(Protocol, data, broken))
    except (_Broken, ValidationError, TypeError, ValueError):
        return []
    found: list[tuple[FieldPath, str]] = []
    for check in CHECKS:
        try:
            found.extend(list(check(protocol)))
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            continue
    return found


#: Limits of a protocol file (issue 16: an 11 KB "billion laughs" file of nested aliases took
#: 16 s and 4.7 GB): its size, its nodes once every alias is expanded, its nesting depth.
MAX_BYTES = 1_000_000
MAX_NODES = 200_000
MAX_DEPTH = 64

#: libyaml's parser (C; about ten times faster than PyYAML's pure-Python one, which a protocol
#: is read with three times: events, nodes, values) where PyYAML was built with it, as the
#: wheels are; the pure-Python safe loader otherwise. Both read the same YAML 1.1 with the
#: same safe constructors; a file with a syntax error is read again by the pure-Python parser,
#: so that the error's words and line are PyYAML's, as before.
_SAFE_LOADER = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


def _too_big(text: str, root: yaml.Node | None) -> str | None:
    """Why the YAML is refused before it is loaded (size, expanded nodes, depth), or None.
    Aliases share their node, so the expanded size is counted once per node (memoised)."""
    if len(text) > MAX_BYTES:
        return f"the file has {len(text):,} characters; at most {MAX_BYTES:,}"
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, depth)

    def measure(node: yaml.Node) -> tuple[int, int]:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = (MAX_NODES + 1, MAX_DEPTH + 1)  # a cycle counts as too big
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [x for pair in node.value for x in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        n, d = 1, 0
        for child in children:
            cn, cd = measure(child)
            n, d = min(n + cn, MAX_NODES + 1), max(d, cd)
            if n > MAX_NODES or d > MAX_DEPTH:
                break
        sizes[id(node)] = (n, d + 1)
        return sizes[id(node)]

    if root is None:
        return None
    nodes, depth = measure(root)
    if depth > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    if nodes > MAX_NODES:
        return f"more than {MAX_NODES:,} values once its aliases (*) are expanded"
    return None


def _read(text: str, file: str, loader: Any) -> tuple[yaml.Node | None, Any]:
    """The YAML's node tree (for line numbers) and its values, read with ``loader``; refused
    (:class:`ProtocolError`) when nested too deep or too big once aliases are expanded."""
    depth = 0  # the event stream first: the composer recurses (slowly) into deep nesting
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                deep = f"refused: nested deeper than {MAX_DEPTH} levels"
                at = event.start_mark.line + 1 if event.start_mark is not None else None
                raise ProtocolError([Problem(file, at, (), deep)])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    root = yaml.compose(text, Loader=loader)
    big = _too_big(text, root)
    if big is not None:
        raise ProtocolError([Problem(file, None, (), f"refused: {big}")])
    return root, yaml.load(text, Loader=loader)  # a safe loader


def parse_protocol(text: str, *, file: str = "<protocol>") -> Protocol:
    """Validate protocol YAML ``text``; raise :class:`ProtocolError` listing every problem.

    A file over :data:`MAX_BYTES`, or over :data:`MAX_NODES` values with its aliases expanded,
    or nested deeper than :data:`MAX_DEPTH`, is refused before it is loaded."""
    if len(text) > MAX_BYTES:
        raise ProtocolError([Problem(file, None, (), str(_too_big(text, None)))])
    try:
        try:
            root, data = _read(text, file, _SAFE_LOADER)
        except yaml.YAMLError:
            if _SAFE_LOADER is yaml.SafeLoader:
                raise
            # A syntax error is reported as PyYAML's own parser words and places it (libyaml
            # may name another line): the file is read again by it, and fails there.
            root, data = _read(text, file, yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ProtocolError([Problem(file, line, (), f"not valid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ProtocolError([Problem(file, None, (), f"not valid YAML: {exc}")]) from None
    except RecursionError:
        why = f"refused: nested deeper than {MAX_DEPTH} levels"
        raise ProtocolError([Problem(file, None, (), why)]) from None
    lines = _Lines(root)
    problems = [
        Problem(file, line, path, "this key appears twice in the same mapping")
        for path, line in lines.duplicates
    ]
    if not isinstance(data, dict):
        problems.append(Problem(file, lines.line(()), (), "a protocol file is a YAML mapping"))
        raise ProtocolError(problems)
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, file, lines))
        # The cross-field rules that do not read a part with a type error are checked too, so
        # that a file is fixed in one pass.
        typed = {p.path for p in problems}
        for path, message in _checks_despite(data, exc):
            if path not in typed:
                problems.append(Problem(file, lines.line(path), path, message))
        raise ProtocolError(problems) from None
    for path, message in check_protocol(protocol):
        problems.append(Problem(file, lines.line(path), path, message))
    if problems:
        raise ProtocolError(problems)
    return protocol


def load_protocol(source: str | Path) -> Protocol:
    """Load a protocol from a file path, or a library id such as ``lanzoni2021``.

    Raises :class:`ProtocolError` (problems with file and line) or ``FileNotFoundError``
    naming what was looked for.
    """
    path = Path(source)
    # A folder named like a library id (e.g. a demo's output folder) does not hide the library.
    hides_library = path.is_dir() and str(source) in library_ids()
    if path.suffix in (".yaml", ".yml") or (path.exists() and not hides_library):
        if not path.exists() or path.is_dir():
            raise FileNotFoundError(f"no protocol file {str(path)!r}")
        return parse_protocol(path.read_text(encoding="utf-8"), file=path.name)
    text = library_text(str(source))
    return parse_protocol(text, file=f"{source}.yaml")


def library_ids() -> list[str]:
    """Ids of the protocols shipped in ``celltrial/protocol/library``."""
    folder = resources.files("celltrial.protocol") / "library"
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def library_text(protocol_id: str) -> str:
    """The YAML text of a library protocol."""
    ids = library_ids()
    if protocol_id not in ids:
        raise FileNotFoundError(
            f"no protocol {protocol_id!r} in the library{suggest(protocol_id, ids)}; "
            f"known: {', '.join(ids)} (or give a path to a .yaml file)"
        )
    folder = resources.files("celltrial.protocol") / "library"
    return (folder / f"{protocol_id}.yaml").read_text(encoding="utf-8")


def library_path(protocol_id: str) -> Path:
    """Filesystem path of a library protocol (for copying it as a starting point)."""
    library_text(protocol_id)  # raises a clear error when unknown
    return Path(str(resources.files("celltrial.protocol") / "library" / f"{protocol_id}.yaml"))
