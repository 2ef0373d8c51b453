"""Each domain has one face (issue 11, point 11, energy / accounting part): energy reaches
accounting only through its hooks (no import of accounting, not even a lazy one), fuel
categories live in energy, and the modules stay small."""

import ast
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from app.accounting import engine, recompute
from app.accounting.models import CarbonAccount
from app.energy import hooks, kinds, records
from app.energy import service as energy
from app.identity.scope import DataScope
from tests.accounting.helpers import elec, record

APP = Path(__file__).resolve().parents[2] / "app"


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_energy_never_imports_accounting():
    offenders = {p.name: sorted(m for m in _imports(p) if m.startswith("app.accounting"))
                 for p in (APP / "energy").glob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_fuel_categories_and_factor_figures_live_in_energy():
    assert engine.FUEL_CATEGORIES is kinds.FUEL_CATEGORIES is energy.FUEL_CATEGORIES
    assert engine.Factor is kinds.Factor
    assert set(kinds.FUEL_CATEGORIES) < set(kinds.CATEGORIES)


def test_records_reach_accounting_only_through_the_hook(make_ent, db, monkeypatch):
    ent = make_ent(700)
    monkeypatch.setattr(hooks, "AFTER_RECORDS_CHANGED", [])
    records.create_many(items=[record(ent, 2024, 1, [elec(10)])], scope=DataScope(all=True),
                        today=date(2026, 1, 1))
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(CarbonAccount)) == 0
    monkeypatch.undo()       # accounting's subscription (made in its register) is back
    assert recompute._records_changed in hooks.AFTER_RECORDS_CHANGED
    records.create_many(items=[record(ent, 2024, 2, [elec(10)])], scope=DataScope(all=True),
                        today=date(2026, 1, 1))
    assert db.session.scalar(select(func.count()).select_from(CarbonAccount)) == 1


def test_modules_stay_under_400_lines():
    sizes = {f"{p.parent.name}/{p.name}": len(p.read_text(encoding="utf-8").splitlines())
             for d in ("energy", "accounting") for p in (APP / d).glob("*.py")}
    assert {k: n for k, n in sizes.items() if n > 400} == {}
