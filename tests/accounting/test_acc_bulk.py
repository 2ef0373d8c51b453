"""Set-based SQL accounting and code issuance give the same results as the per-row
Decimal engine (scale: R-8.1, correctness: R-6.1.3)."""

from sqlalchemy import select

from app.accounting import bulk, codes, service
from app.accounting.demo import load as load_demo_data
from app.accounting.models import CarbonAccount, CarbonAccountLine, CarbonCode, IndustryBenchmark
from app.energy.models import EnergyRecord

ACC_FIELDS = ("energy_tce", "co2_total", "co2_combustion", "co2_process", "co2_electricity",
              "co2_heat", "co2_electricity_exported", "co2_heat_exported", "co2_biomass",
              "electricity_mwh", "gross_output", "value_added", "intensity",
              "energy_per_output", "region_code", "industry_code", "record_revision")
LINE_FIELDS = ("position", "item", "flow", "bucket", "sign", "amount", "unit", "ncv",
               "carbon_content", "oxidation_rate", "ef", "factor_id", "factor_version",
               "parameter_origin", "co2", "tce")
CODE_FIELDS = ("enterprise_id", "period_type", "period_key", "scheme_id", "basis",
               "area_code", "industry_code", "co2", "value_added", "intensity",
               "benchmark_intensity", "k_value", "peers", "graded", "grade", "grade_label",
               "colour", "reason")


def _accounts(db):
    out = {}
    for a in db.session.scalars(select(CarbonAccount).where(CarbonAccount.is_current)):
        lines = db.session.scalars(select(CarbonAccountLine).where(
            CarbonAccountLine.account_id == a.id).order_by(CarbonAccountLine.position)).all()
        out[(a.enterprise_id, a.period)] = (
            tuple(getattr(a, f) for f in ACC_FIELDS),
            [tuple(getattr(ln, f) for f in LINE_FIELDS) for ln in lines])
    return out


def _codes(db):
    rows = db.session.scalars(select(CarbonCode).where(CarbonCode.is_current)).all()
    return sorted(tuple(getattr(c, f) for f in CODE_FIELDS) for c in rows)


def test_set_based_equals_per_row(energy_ref, app):
    db = energy_ref
    from app.demo import _ensure_orgs
    from app.orgs.models import Enterprise

    _ensure_orgs()
    load_demo_data(30, 3)
    db.session.commit()
    assert db.session.query(Enterprise).count() >= 30
    set_based = _accounts(db)
    assert len(set_based) == db.session.query(EnergyRecord).count() > 60
    set_codes = _codes(db)
    assert any(c[13] for c in set_codes) and any(not c[13] for c in set_codes)

    # per-row engine over the same records: a new version of every account
    for rec in db.session.scalars(select(EnergyRecord)):
        service.compute(record=rec, reason="per-row check")
    periods = sorted({p for _, p in set_based})
    codes.issue(periods=periods, method="row")
    db.session.commit()
    assert _accounts(db) == set_based
    assert _codes(db) == set_codes
    methods = {a.method for a in db.session.scalars(select(CarbonAccount).where(
        CarbonAccount.is_current))}
    assert methods == {"row"}

    # and back: set-based recompute of everything again matches
    bulk.compute_accounts(periods=periods, reason="set check")
    codes.issue(periods=periods, method="set")
    db.session.commit()
    assert _accounts(db) == set_based
    assert _codes(db) == set_codes
    # history: three versions per enterprise-month, only one current
    n = db.session.query(CarbonAccount).count()
    assert n == 3 * len(set_based)
    assert db.session.query(IndustryBenchmark).filter(IndustryBenchmark.is_current).count() > 0

    # the province-wide batch mode (two connections, one transaction per chunk) agrees too
    assert bulk.compute_accounts_parallel(periods=periods, workers=2) == len(set_based)
    assert codes.issue_parallel(periods=periods, workers=2) == len(set_codes)
    db.session.expire_all()
    assert _accounts(db) == set_based
    assert _codes(db) == set_codes
