"""One rounding rule (issue 11, point 10): half-up (ties away from zero) as documented in
`app.accounting.engine`, everywhere. Property tests with hypothesis, ties included:

* the SQL spelling (`engine.half_up`, exact integer division) equals the engine's `ratio` /
  `k_value` on PostgreSQL for any sign and size, where `round(a / b, n)` may not;
* the set-based path (`bulk.compute_accounts`) equals the per-row engine field for field,
  accounts and derivation lines, over random enterprise-months.

Example counts are bounded (derandomised, no example database) so this runs in seconds."""

from datetime import date
from decimal import Decimal as D

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from app.accounting import bulk, engine, service
from app.accounting.models import CarbonAccount, CarbonAccountLine
from app.energy import records
from app.identity.scope import DataScope
from tests.accounting.test_acc_bulk import ACC_FIELDS, LINE_FIELDS

SETTINGS = dict(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

TIES = [D("0.5"), D("0.25"), D("0.125"), D("0.0625"), D("1.5"), D("0.0000005")]
amounts = st.decimals(min_value=0, max_value=10 ** 7, places=6)
factor_values = st.sampled_from(TIES) | st.decimals(min_value=D("1e-10"), max_value=10,
                                                    places=10)
money = st.one_of(st.none(), st.sampled_from([D(0), D(2), D(4), D(8), D("0.0002"),
                                               D("0.0008"), D("1.6")]),
                  st.decimals(min_value=D("0.0001"), max_value=10 ** 8, places=4))
ncv = st.decimals(min_value=D("0.000001"), max_value=1000, places=6)
carbon = st.decimals(min_value=D("0.00000001"), max_value=1, places=8)
oxidation = st.decimals(min_value=D("0.000001"), max_value=1, places=6)


def _line(flow, item, unit, amount, **extra):
    return {"flow": flow, "item": item, "unit": unit, "amount": str(amount),
            **{k: str(v) for k, v in extra.items() if v is not None}}


@st.composite
def record_lines(draw):
    """A valid set of lines: each (flow, item) at most once, ties and measured values."""
    lines = []
    given_or_library = st.one_of(st.none(), factor_values)
    if draw(st.booleans()):
        lines.append(_line("purchased", "electricity", "MWh", draw(amounts),
                           factor_value=draw(given_or_library)))
    if draw(st.booleans()):
        lines.append(_line("exported", "electricity", "MWh", draw(amounts),
                           factor_value=draw(given_or_library)))
    if draw(st.booleans()):
        lines.append(_line("self_generated", "electricity", "MWh", draw(amounts)))
    if draw(st.booleans()):
        measured = draw(st.sampled_from(["none", "some", "all"]))
        extra = {} if measured == "none" else {
            "ncv": draw(ncv), "carbon_content": draw(st.one_of(st.none(), carbon))
            if measured == "some" else draw(carbon),
            "oxidation_rate": draw(oxidation) if measured == "all" else None}
        lines.append(_line("consumed", "natural_gas", "10^4 Nm3", draw(amounts), **extra))
    if draw(st.booleans()):
        lines.append(_line("consumed", "diesel", "t", draw(amounts)))
    if draw(st.booleans()):
        lines.append(_line("consumed", "biomass", "t", draw(amounts), ncv=draw(ncv),
                           carbon_content=draw(carbon), oxidation_rate=draw(oxidation)))
    if draw(st.booleans()):
        lines.append(_line("purchased", "heat", "GJ", draw(amounts),
                           factor_value=draw(given_or_library)))
    if draw(st.booleans()):
        lines.append(_line("exported", "heat", "GJ", draw(amounts)))
    if draw(st.booleans()):
        lines.append(_line("process", "process_caco3", "t", draw(amounts)))
    for _ in range(draw(st.integers(0, 2))):
        lines.append(_line("process", "generic", "t", draw(amounts),
                           factor_value=draw(factor_values)))
    return lines or [_line("purchased", "electricity", "MWh", D("0.0000005"),
                           factor_value=D("0.5"))]


months = st.dictionaries(
    keys=st.tuples(st.integers(0, 2), st.integers(2021, 2024), st.integers(1, 12)),
    values=st.tuples(record_lines(), money, money), min_size=1, max_size=4)


def _snapshot(db, account_ids):
    out = {}
    for a in db.session.scalars(select(CarbonAccount).where(CarbonAccount.id.in_(
            account_ids))):
        lines = db.session.scalars(select(CarbonAccountLine).where(
            CarbonAccountLine.account_id == a.id).order_by(CarbonAccountLine.position))
        out[(a.enterprise_id, a.period)] = (
            tuple(getattr(a, f) for f in ACC_FIELDS),
            [tuple(getattr(ln, f) for f in LINE_FIELDS) for ln in lines])
    return out


def test_set_based_equals_per_row_field_for_field(make_ent, db):
    ents = [make_ent(600), make_ent(601, region="320100"), make_ent(602, region="330106")]
    db.session.commit()

    @settings(max_examples=40, **SETTINGS)
    @given(months)
    def check(data):
        try:
            items = [{"uscc": ents[e].uscc, "year": y, "month": m,
                      "value_added": None if va is None else str(va),
                      "gross_output": None if go is None else str(go), "lines": lines}
                     for (e, y, m), (lines, va, go) in data.items()]
            recs = records.create_many(items=items, scope=DataScope(all=True),
                                       today=date(2026, 1, 1), compute=False)
            per_row = [service.compute(record=r, reason="per-row", notify=False)
                       for r in recs]
            expected = _snapshot(db, [a.id for a in per_row])
            assert bulk.compute_accounts(record_ids=[r.id for r in recs],
                                         reason="set") == len(recs)
            current = db.session.scalars(select(CarbonAccount.id).where(
                CarbonAccount.is_current, CarbonAccount.record_id.in_(
                    [r.id for r in recs]))).all()
            got = _snapshot(db, current)
            assert got == expected
            assert {a.method for a in db.session.scalars(select(CarbonAccount).where(
                CarbonAccount.id.in_(current)))} == {"set"}
        finally:
            db.session.rollback()

    check()


nums = st.decimals(min_value=-(10 ** 13), max_value=10 ** 13, places=6)
dens = st.decimals(min_value=D("0.0001"), max_value=10 ** 12, places=4)


def test_sql_half_up_equals_engine_ratio_including_ties(db):
    sql = text(f"SELECT {engine.half_up('CAST(:n AS numeric)', 'CAST(:d AS numeric)', 6)}, "
               f"{engine.half_up('CAST(:n AS numeric)', 'CAST(:d AS numeric)', 4)}")

    @settings(max_examples=150, **SETTINGS)
    @given(nums, dens)
    @example(D("0.000001"), D("2"))              # 0.0000005: a tie, up
    @example(D("-0.000001"), D("2"))             # a negative tie: away from zero
    @example(D("0.000003"), D("0.0002"))         # 0.015 exactly
    @example(D("1.000005"), D("10"))             # 0.1000005
    @example(D("0.00001"), D("0.0002"))          # K tie: 0.05
    @example(D("3"), D("0.0008"))                # 3750
    @example(D("123456.789013"), D("246913.5780"))
    def check(n, d):
        six, four = db.session.execute(sql, {"n": str(n), "d": str(d)}).one()
        assert D(six) == engine.ratio(n, d)
        assert D(four) == engine.k_value(n, d, D(1), D(1))

    check()
