"""Carbon-efficiency-code grading schemes (碳效码等级) loaded from grading_schemes.json.

Why data, not code: the thresholds come from a provincial method that may be revised;
keeping them versioned in JSON with their source lets the platform grade by scheme id
and version, and lets a reviewer see exactly which rule produced a grade.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from app.refdata._rows import RefDataError, data_file

FILE = "grading_schemes.json"
BASES = frozenset({"K", "intensity"})
_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
_ID = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Threshold:
    """One grade: values up to ``upper`` (inclusive) get it; ``upper`` None: above the rest."""

    grade: int
    upper: Decimal | None
    label: str
    label_en: str
    meaning: str
    meaning_en: str
    colour: str
    colour_name: str


@dataclass(frozen=True, slots=True)
class GradingScheme:
    """A grading scheme: ordered thresholds on K (relative) or on intensity (absolute)."""

    id: str
    version: str
    name: str
    name_en: str
    basis: str
    basis_definition: str
    unit: str | None
    thresholds: tuple[Threshold, ...]
    min_peers: int
    source: str
    notes: tuple[str, ...]

    def grade(self, value: Decimal | int) -> Threshold:
        """The threshold for ``value`` (upper bounds inclusive). Floats are refused on purpose."""
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"grade() needs a Decimal, got {type(value).__name__}")
        value = Decimal(value)
        if not value.is_finite() or value < 0:
            raise ValueError(f"cannot grade {value}: must be a finite number >= 0")
        for t in self.thresholds:
            if t.upper is None or value <= t.upper:
                return t
        raise AssertionError("validated schemes always end with an open threshold")


def _fail(path: str, field: str, message: str) -> RefDataError:
    return RefDataError(FILE, path, field, message)


def _text(obj: dict[str, Any], key: str, path: str, *, optional: bool = False) -> str:
    value = obj.get(key)
    if value is None and optional:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, key, "required non-empty string")
    return value.strip()


def _number(value: Any, path: str, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise _fail(path, field, f"expected a number, got {value!r}")
    return Decimal(value)


def _threshold(obj: Any, path: str, expected_grade: int, is_last: bool) -> Threshold:
    if not isinstance(obj, dict):
        raise _fail(path, "threshold", "expected an object")
    if obj.get("grade") != expected_grade or isinstance(obj.get("grade"), bool):
        raise _fail(path, "grade", f"expected {expected_grade} (grades run 1, 2, 3 ... in order)")
    raw_upper = obj.get("upper", "missing")
    if is_last:
        if raw_upper is not None:
            raise _fail(path, "upper", "the last threshold must have upper null")
        upper = None
    else:
        if raw_upper is None or raw_upper == "missing":
            raise _fail(path, "upper", "only the last threshold may be open (null)")
        upper = _number(raw_upper, path, "upper")
    colour = _text(obj, "colour", path)
    if not _COLOUR.fullmatch(colour):
        raise _fail(path, "colour", f"{colour!r} is not a #RRGGBB colour")
    return Threshold(
        expected_grade,
        upper,
        _text(obj, "label", path),
        _text(obj, "label_en", path),
        _text(obj, "meaning", path),
        _text(obj, "meaning_en", path),
        colour,
        _text(obj, "colour_name", path, optional=True),
    )


def _scheme(obj: Any, path: str) -> GradingScheme:
    if not isinstance(obj, dict):
        raise _fail(path, "scheme", "expected an object")
    sid = _text(obj, "id", path)
    if not _ID.fullmatch(sid):
        raise _fail(path, "id", f"{sid!r} is not a lower-case identifier")
    basis = _text(obj, "basis", path)
    if basis not in BASES:
        raise _fail(path, "basis", f"{basis!r} is not one of {sorted(BASES)}")
    if obj.get("upper_inclusive") is not True:
        raise _fail(path, "upper_inclusive", "must be true (the loader grades with <= upper)")
    raw = obj.get("thresholds")
    if not isinstance(raw, list) or len(raw) < 2:
        raise _fail(path, "thresholds", "need at least two thresholds")
    thresholds = tuple(
        _threshold(t, f"{path}.thresholds[{i}]", i + 1, i == len(raw) - 1)
        for i, t in enumerate(raw)
    )
    uppers = [t.upper for t in thresholds[:-1]]
    if any(u is None or u < 0 for u in uppers) or uppers != sorted(set(uppers)):  # type: ignore[type-var]
        raise _fail(path, "thresholds", "upper bounds must be non-negative and strictly increasing")
    min_peers = obj.get("min_peers")
    if isinstance(min_peers, bool) or not isinstance(min_peers, int) or min_peers < 1:
        raise _fail(path, "min_peers", "must be a whole number >= 1")
    notes = obj.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise _fail(path, "notes", "must be a list of strings")
    unit = obj.get("unit")
    if unit is not None and not isinstance(unit, str):
        raise _fail(path, "unit", "must be a string or null")
    return GradingScheme(
        sid,
        _text(obj, "version", path),
        _text(obj, "name", path),
        _text(obj, "name_en", path),
        basis,
        _text(obj, "basis_definition", path),
        unit,
        thresholds,
        min_peers,
        _text(obj, "source", path),
        tuple(notes),
    )


@cache
def load_grading_schemes(data_dir: Path | None = None) -> tuple[GradingScheme, ...]:
    """grading_schemes.json: errors name the JSON path (e.g. schemes[0].thresholds[2]) and field."""
    path = data_file(data_dir, FILE)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise RefDataError(FILE, exc.lineno, "json", exc.msg) from None
    if not isinstance(doc, dict) or doc.get("format_version") != 1:
        raise _fail("$", "format_version", "expected 1")
    raw = doc.get("schemes")
    if not isinstance(raw, list) or not raw:
        raise _fail("$", "schemes", "expected a non-empty list")
    schemes = tuple(_scheme(s, f"schemes[{i}]") for i, s in enumerate(raw))
    ids = [(s.id, s.version) for s in schemes]
    if len(set(ids)) != len(ids):
        raise _fail("$", "schemes", "duplicate (id, version)")
    return schemes
