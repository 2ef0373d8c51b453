"""Factors are dated, published figures are frozen (issue 11, point 4): every factor kind
prices a month by the version in force, in the per-row engine and the set-based path; a new
version recomputes only the months it applies to; published / verified months are never
rewritten by a new factor, a changed record or a batch; a restatement is explicit, audited,
with a reason, and keeps the old version."""

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from app.accounting import bulk, recompute, service
from app.accounting.cli import accounting_cli
from app.accounting.models import CarbonAccount, CarbonAccountLine
from app.audit.models import AuditRecord
from app.energy import records
from app.energy import service as energy
from app.energy.models import EnergyRecord
from app.identity.scope import DataScope
from app.jobs.models import OutboxJob
from app.uow import commit
from tests.accounting.helpers import elec, record

LINES = [elec(100),
         {"item": "natural_gas", "flow": "consumed", "amount": "10", "unit": "万立方米"},
         {"item": "heat", "flow": "purchased", "amount": "50", "unit": "GJ"},
         {"item": "process_caco3", "flow": "process", "amount": "5", "unit": "t"}]
ITEMS = ("electricity", "natural_gas", "heat", "process_caco3")
NEW = (("grid_2023_330000", {"value": D("0.6")}, "electricity"),
       ("combustion:natural_gas", {"ncv": D("400")}, "natural_gas"),
       ("heat_default", {"value": D("0.12")}, "heat"),
       ("process_caco3", {"value": D("0.5")}, "process_caco3"))


def _records(ent, months, year=2023, lines=LINES):
    recs = records.create_many(items=[record(ent, year, m, lines) for m in months],
                               scope=DataScope(all=True), today=date(2026, 1, 1))
    commit()
    return recs


def _current(db, ent, period) -> CarbonAccount:
    db.session.expire_all()
    return db.session.scalar(select(CarbonAccount).where(
        CarbonAccount.enterprise_id == ent.id, CarbonAccount.period == period,
        CarbonAccount.is_current))


def _factors(db, acc) -> dict[str, int]:
    return {ln.item: ln.factor_id for ln in db.session.scalars(select(CarbonAccountLine).where(
        CarbonAccountLine.account_id == acc.id))}


def _supersede_all_from_july():
    return {item: energy.supersede(code=code, source="测试更正文号", reason="测试：7月起新值",
                                   valid_from=date(2023, 7, 1), **kw).id
            for code, kw, item in NEW}


def _audits(db, action):
    return list(db.session.scalars(select(AuditRecord).where(AuditRecord.action == action)))


def test_every_kind_priced_by_version_in_force_and_only_its_months_recomputed(make_ent, db):
    ent = make_ent(501)
    _records(ent, [6, 7])
    june, july = _current(db, ent, 202306), _current(db, ent, 202307)
    old = _factors(db, june)
    assert set(old) == set(ITEMS) and _factors(db, july) == old and july.version == 1

    new = _supersede_all_from_july()
    jobs = db.session.scalars(select(OutboxJob).where(
        OutboxJob.name == "accounting.recompute_factors")).all()
    assert len(jobs) == 4            # through energy's hook, one job per new version
    commit()                         # the jobs run: only July is priced by the new versions
    june, july = _current(db, ent, 202306), _current(db, ent, 202307)
    assert june.version == 1 and _factors(db, june) == old
    assert july.version == 2 and _factors(db, july) == new
    assert july.co2_electricity == D("60.000000") and july.co2_heat == D("6.000000")
    assert july.co2_process == D("2.500000")
    # resolution itself, per kind, by month
    r6 = energy.resolve(year=2023, month=6, region_code="330522")
    r7 = energy.resolve(year=2023, month=7, region_code="330522")
    assert {i: r6.factors[i].id for i in ITEMS} == old
    assert {i: r7.factors[i].id for i in ITEMS} == new
    # a later new version of one kind recomputes only the months it changes
    assert recompute.recompute_for_factors(factor_ids=[new["heat"]]) == 0


def test_set_based_path_resolves_by_month_like_the_per_row_engine(make_ent, db):
    ent = make_ent(502)
    _records(ent, [6, 7])
    new = _supersede_all_from_july()
    commit()
    per_row = {p: _current(db, ent, p) for p in (202306, 202307)}
    per_row = {p: (a.co2_total, a.energy_tce, _factors(db, a)) for p, a in per_row.items()}
    assert bulk.compute_accounts(periods=[202306, 202307], reason="set check") == 2
    db.session.commit()
    for p in (202306, 202307):
        acc = _current(db, ent, p)
        assert acc.method == "set"
        assert (acc.co2_total, acc.energy_tce, _factors(db, acc)) == per_row[p]
    assert _factors(db, _current(db, ent, 202307)) == new
    rows = bulk.factor_rows([202306, 202307])
    by = {(r["period"], r["item"]): r["fid"] for r in rows if r["r4"] == "3305"}
    assert {by[(202307, i)] for i in ITEMS} == set(new.values())


def test_frozen_month_is_never_rewritten_then_restated_explicitly(make_ent, db):
    ent = make_ent(503)
    recs = _records(ent, [6, 7])
    accs = service.freeze(enterprise_id=ent.id, periods=[202306], status="published",
                          user_email="reviewer@example.cn", note="发布 #1")
    commit()
    v1 = accs[0]
    assert (v1.status, v1.frozen_by, v1.version) == ("published", "reviewer@example.cn", 1)
    assert _audits(db, "accounting.freeze")

    # a new factor version for every month: June (frozen) stays, July (open) moves
    energy.supersede(code="grid_2023_330000", value=D("0.7"), source="测试", reason="全年更正")
    commit()
    june, july = _current(db, ent, 202306), _current(db, ent, 202307)
    assert june.id == v1.id and june.version == 1 and june.pending_reason.startswith("因子更新")
    assert july.version == 2 and july.co2_electricity == D("70.000000")

    # a changed record: the record is stored, the frozen account is not rewritten
    records.update(record=db.session.get(EnergyRecord, recs[0].id),
                   data={"lines": [elec(200)], "value_added": "1000", "gross_output": "3000"},
                   scope=DataScope(all=True), today=date(2026, 1, 1))
    commit()
    june = _current(db, ent, 202306)
    assert june.id == v1.id and june.pending_reason == "数据录入"
    # nor does a set-based batch
    assert bulk.compute_accounts(periods=[202306, 202307], reason="批量重算") == 1
    commit()
    assert _current(db, ent, 202306).id == v1.id
    skips = _audits(db, "accounting.frozen_skip")
    assert len(skips) >= 3 and all(f"{ent.id}:202306" in s.summary for s in skips)

    # restatement: explicit, with a reason, a new version; the old one is kept
    with pytest.raises(service.AccountError) as exc:
        service.restate(enterprise_id=ent.id, period=202306, reason=" ")
    assert exc.value.field == "reason"
    with pytest.raises(service.AccountError):
        service.restate(enterprise_id=ent.id, period=202307, reason="未冻结")
    v2 = service.restate(enterprise_id=ent.id, period=202306, reason="电量抄表更正",
                         user_email="admin@example.cn")
    commit()
    old = db.session.get(CarbonAccount, v1.id)
    assert (old.is_current, old.status, old.co2_total) == (False, "published",
                                                          v1.co2_total)
    v2 = _current(db, ent, 202306)
    assert (v2.version, v2.status, v2.restates_id) == (2, "published", v1.id)
    assert v2.co2_electricity == D("140.000000") and v2.reason == "重述：电量抄表更正"
    assert v2.pending_reason is None and old.pending_reason is None
    (entry,) = _audits(db, "accounting.restate")
    assert "电量抄表更正" in entry.summary and entry.user_email == "admin@example.cn"


def test_verified_state_moves_forward_only_and_restatement_needs_reverification(make_ent,
                                                                                db):
    ent = make_ent(504)
    _records(ent, [3])
    (acc,) = service.freeze(enterprise_id=ent.id, periods=[202303], status="verified",
                            user_email="verifier@example.cn")
    assert acc.status == "verified" and acc.frozen
    # publishing after verification leaves it verified (idempotent, forward only)
    (acc,) = service.freeze(enterprise_id=ent.id, periods=[202303], status="published")
    assert acc.status == "verified"
    with pytest.raises(service.AccountError) as exc:
        service.freeze(enterprise_id=ent.id, periods=[202304], status="verified")
    assert exc.value.field == "periods"
    with pytest.raises(service.AccountError):
        service.freeze(enterprise_id=ent.id, periods=[202303], status="open")
    new = service.restate(enterprise_id=ent.id, period=202303, reason="核查发现漏报")
    assert new.status == "published" and new.restates_id == acc.id
    assert [a.version for a in service.history(enterprise_id=ent.id, period=202303)] == [2, 1]


def test_freeze_and_restate_commands(app, make_ent, db):
    ent = make_ent(505)
    _records(ent, [1, 2])
    runner = app.test_cli_runner()
    res = runner.invoke(accounting_cli, ["freeze", "--uscc", ent.uscc, "--period", "2023",
                                         "--status", "published", "--by", "ops"])
    assert res.exit_code == 0, res.output
    assert "2 个月的核算版本为“已发布”" in res.output
    res = runner.invoke(accounting_cli, ["restate", "--uscc", ent.uscc, "--period",
                                         "2023-02", "--reason", "产值更正"])
    assert res.exit_code == 0, res.output
    assert "已重述为 v2（已发布）" in res.output
    res = runner.invoke(accounting_cli, ["restate", "--uscc", ent.uscc, "--period", "2023",
                                         "--reason", "x"])
    assert res.exit_code != 0 and "重述按月进行" in res.output
    res = runner.invoke(accounting_cli, ["freeze", "--uscc", ent.uscc, "--period", "2022-01",
                                         "--status", "verified"])
    assert res.exit_code != 0 and "没有核算结果" in res.output
