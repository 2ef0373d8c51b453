"""Load the cited reference-data files into frozen dataclasses, validating every row.

Why: accounting, grading and monitoring must read the same cited figures, and a bad
row (unknown parent, duplicate code, missing source) must fail at load time with file,
line and field, never later as a silently wrong number. Quantities are ``Decimal``.
Each loader takes an optional ``data_dir`` (tests point it at a copy) and is cached.

Energy types and emission factors live here; regions, industries/sectors and grading
schemes in sibling modules. Callers import them all from the package, ``app.refdata``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from app.refdata._rows import Row, check_unique, data_file, read_rows
from app.refdata.regions import load_grid_regions, load_regions

ENERGY_CATEGORIES = frozenset({"coal", "oil", "gas", "electricity", "heat", "other", "biomass"})
FACTOR_KINDS = frozenset(
    {
        "grid_electricity",
        "grid_electricity_residual",
        "grid_electricity_fossil",
        "grid_electricity_ets",
        "heat",
        "process",
    }
)
FACTOR_STATUSES = frozenset({"active", "superseded"})
_ID = re.compile(r"[a-z][a-z0-9_]*")
_TO_VERIFY = "to verify"


# ------------------------------------------------------------------- energy types


@dataclass(frozen=True, slots=True)
class EnergyType:
    """An energy carrier with its GB/T 2589 tce coefficient and GB/T 32150 CO2 parameters.

    ``tce_factor`` is tonnes of standard coal per ``unit``; ``ncv`` is in ``ncv_unit``
    (GJ per unit); ``carbon_content`` is tC/GJ; ``oxidation_rate`` a fraction. Empty
    values are ``None``: the source gives none or it could not be confirmed (see ``note``).
    """

    code: str
    name: str
    name_en: str
    category: str
    unit: str
    tce_factor: Decimal | None
    tce_source: str
    ncv: Decimal | None
    ncv_unit: str
    carbon_content: Decimal | None
    oxidation_rate: Decimal | None
    param_source: str
    note: str

    def co2_per_unit(self) -> Decimal | None:
        """Default tCO2 per ``unit`` = NCV x carbon content x oxidation x 44/12 (GB/T 32150)."""
        if self.ncv is None or self.carbon_content is None or self.oxidation_rate is None:
            return None
        return self.ncv * self.carbon_content * self.oxidation_rate * Decimal(44) / Decimal(12)

    @property
    def needs_verification(self) -> bool:
        return _TO_VERIFY in self.note.lower()


@cache
def load_energy_types(data_dir: Path | None = None) -> tuple[EnergyType, ...]:
    """energy_types.csv: unique codes; any number given must carry its source and sane range."""
    out: list[EnergyType] = []
    seen: dict[str, int] = {}
    cols = (
        "code",
        "name",
        "name_en",
        "category",
        "unit",
        "tce_factor",
        "tce_source",
        "ncv",
        "ncv_unit",
        "carbon_content",
        "oxidation_rate",
        "param_source",
        "note",
    )
    for row in read_rows(data_file(data_dir, "energy_types.csv"), cols):
        code = row.req("code")
        if not _ID.fullmatch(code):
            raise row.fail("code", f"{code!r} is not a lower-case identifier")
        check_unique(seen, code, row, "code")
        tce, ncv = row.dec("tce_factor"), row.dec("ncv")
        carbon, oxid = row.dec("carbon_content"), row.dec("oxidation_rate")
        for field, value in (("tce_factor", tce), ("ncv", ncv), ("carbon_content", carbon)):
            if value is not None and value <= 0:
                raise row.fail(field, "must be positive")
        if tce is not None and not row.data["tce_source"]:
            raise row.fail("tce_source", "a tce_factor needs its source")
        if ncv is not None and not row.data["ncv_unit"]:
            raise row.fail("ncv_unit", "an ncv needs its unit")
        if (ncv, carbon, oxid) != (None, None, None) and not row.data["param_source"]:
            raise row.fail("param_source", "CO2 parameters need their source")
        if carbon is not None and carbon >= 1:
            raise row.fail("carbon_content", "expected tC/GJ (e.g. 0.0153), got a value >= 1")
        if oxid is not None and not 0 < oxid <= 1:
            raise row.fail("oxidation_rate", "must be a fraction in (0, 1]")
        out.append(
            EnergyType(
                code,
                row.req("name"),
                row.req("name_en"),
                row.choice("category", ENERGY_CATEGORIES),
                row.req("unit"),
                tce,
                row.data["tce_source"],
                ncv,
                row.data["ncv_unit"],
                carbon,
                oxid,
                row.data["param_source"],
                row.data["note"],
            )
        )
    return tuple(out)


# ------------------------------------------------------------------------ factors


@dataclass(frozen=True, slots=True)
class EmissionFactor:
    """An emission factor with its scope, data year, applicability window and citation."""

    id: str
    kind: str
    scope: str
    scope_name: str
    year: int
    value: Decimal
    unit: str
    source: str
    valid_from: date | None
    valid_to: date | None
    status: str
    supersedes: str | None
    note: str

    @property
    def needs_verification(self) -> bool:
        return _TO_VERIFY in self.note.lower()


@cache
def load_factors(data_dir: Path | None = None) -> tuple[EmissionFactor, ...]:
    """factors.csv: known scope (national/generic/grid id/province code), source, dates, chain."""
    provinces = {r.code for r in load_regions(data_dir) if r.level == "province"}
    scopes = {"national", "generic"} | {g.id for g in load_grid_regions(data_dir)} | provinces
    rows: list[tuple[Row, EmissionFactor]] = []
    seen: dict[str, int] = {}
    cols = (
        "id",
        "kind",
        "scope",
        "scope_name",
        "year",
        "value",
        "unit",
        "source",
        "valid_from",
        "valid_to",
        "status",
        "supersedes",
        "note",
    )
    for row in read_rows(data_file(data_dir, "factors.csv"), cols):
        fid = row.req("id")
        if not _ID.fullmatch(fid):
            raise row.fail("id", f"{fid!r} is not a lower-case identifier")
        check_unique(seen, fid, row, "id")
        value = row.dec("value", required=True)
        if value is None or value <= 0:
            raise row.fail("value", "must be positive")
        factor = EmissionFactor(
            fid,
            row.choice("kind", FACTOR_KINDS),
            row.choice("scope", scopes),
            row.req("scope_name"),
            row.integer("year"),
            value,
            row.req("unit"),
            row.req("source"),
            row.day("valid_from"),
            row.day("valid_to"),
            row.choice("status", FACTOR_STATUSES),
            row.opt("supersedes"),
            row.data["note"],
        )
        if factor.valid_from and factor.valid_to and factor.valid_from > factor.valid_to:
            raise row.fail("valid_to", "is before valid_from")
        rows.append((row, factor))
    ids = {f.id for _, f in rows}
    slots: dict[str, int] = {}
    for row, f in rows:
        if f.kind != "process":  # process factors are told apart by id (material), not year
            check_unique(slots, f"{f.kind}/{f.scope}/{f.year}", row, "year")
    superseded_by = {f.supersedes: f.id for _, f in rows if f.supersedes}
    for row, f in rows:
        if f.supersedes is not None and (f.supersedes not in ids or f.supersedes == f.id):
            raise row.fail("supersedes", f"unknown factor id {f.supersedes!r}")
        if f.status == "superseded" and f.id not in superseded_by:
            raise row.fail("status", "superseded, but no row names it in 'supersedes'")
    return tuple(f for _, f in rows)


def find_factor(
    kind: str, scope: str, year: int, data_dir: Path | None = None
) -> EmissionFactor | None:
    """The factor of ``kind`` for ``scope`` and data ``year`` (unique per load-time check).

    Not for ``process`` factors, which share scope and year: use :func:`get_factor`.
    """
    if kind == "process":
        raise ValueError("process factors are looked up by id: use get_factor()")
    for f in load_factors(data_dir):
        if (f.kind, f.scope, f.year) == (kind, scope, year):
            return f
    return None


def get_factor(factor_id: str, data_dir: Path | None = None) -> EmissionFactor:
    """The factor with this id; KeyError if there is none."""
    for f in load_factors(data_dir):
        if f.id == factor_id:
            return f
    raise KeyError(factor_id)

