"""`cecp accounting` commands, the AFTER_ACCOUNTS_CHANGED hook and the ordered parallel batch."""

import pytest
from sqlalchemy import event, func, select, text

from app.accounting import bulk, hooks, recompute, service
from app.accounting.cli import accounting_cli
from app.accounting.models import CarbonAccount, CarbonCode
from app.energy import records
from app.identity.scope import DataScope
from app.jobs.models import OutboxJob
from tests.accounting.helpers import elec, record


def _records(db, ents, months, year=2025):
    items = [record(e, year, m, [elec(100 + 10 * i + m)], va=str(100 + i))
             for i, e in enumerate(ents) for m in months]
    recs = records.create_many(items=items, scope=DataScope(all=True), compute=False)
    db.session.commit()
    return recs


def _current(db):
    stmt = select(CarbonAccount.enterprise_id, CarbonAccount.period, CarbonAccount.version) \
        .where(CarbonAccount.is_current)
    return {(e, p): v for e, p, v in db.session.execute(stmt)}


def test_recompute_and_issue_codes_commands(app, make_ent, db):
    huzhou = [make_ent(200 + i, region="330522") for i in range(5)]
    hangzhou = make_ent(210, region="330106")
    _records(db, [*huzhou, hangzhou], [1, 2])
    runner = app.test_cli_runner()

    res = runner.invoke(accounting_cli, ["recompute", "--year", "2025", "--month", "1"])
    assert res.exit_code == 0, res.output
    assert "已重算碳账户：6 个企业月（2025年1月，全部企业）" in res.output
    # month 2025-01 + year 2025, two schemes, six enterprises
    assert "已重新签发碳效码：24 条" in res.output
    db.session.expire_all()
    assert set(_current(db).values()) == {1} and len(_current(db)) == 6

    res = runner.invoke(accounting_cli, ["recompute", "--year", "2025", "--month", "1",
                                         "--region", "330500"])
    assert res.exit_code == 0, res.output
    assert "5 个企业月" in res.output and "330500" in res.output
    cur = _current(db)
    assert {v for (e, _p), v in cur.items() if e != hangzhou.id} == {2}
    assert cur[(hangzhou.id, 202501)] == 1

    res = runner.invoke(accounting_cli, ["recompute", "--year", "2025", "--workers", "2"])
    assert res.exit_code == 0, res.output
    assert "12 个企业月（2025年全年，全部企业）" in res.output
    assert len(_current(db)) == 12
    assert db.session.scalar(select(func.count()).select_from(CarbonCode).where(
        CarbonCode.is_current)) == 6 * 3 * 2    # two months + the year, two schemes

    res = runner.invoke(accounting_cli, ["issue-codes", "--year", "2025", "--month", "2"])
    assert res.exit_code == 0, res.output
    assert "已签发碳效码：24 条（期间 2025-02、2025）" in res.output

    res = runner.invoke(accounting_cli, ["recompute", "--year", "2025", "--region", "999999"])
    assert res.exit_code == 2 and "不存在" in res.output
    res = runner.invoke(accounting_cli, ["recompute", "--year", "2024"])
    assert res.exit_code == 0 and "没有能耗数据" in res.output
    res = runner.invoke(accounting_cli, ["issue-codes", "--year", "2024"])
    assert res.exit_code == 0 and "未签发" in res.output
    res = runner.invoke(accounting_cli, ["recompute", "--year", "2025", "--month", "13"])
    assert res.exit_code == 2


@pytest.fixture()
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(hooks, "AFTER_ACCOUNTS_CHANGED", [lambda e, p: seen.append((e, p))])
    return seen


def test_hook_called_once_per_change_in_the_writing_transaction(make_ent, db, calls,
                                                                monkeypatch):
    ents = [make_ent(220 + i) for i in range(3)]
    recs = _records(db, ents, [1, 2])
    recompute.after_records_changed(records=recs[:2])             # per-row engine, batched
    assert calls == [({ents[0].id}, {202501, 202502})]
    service.compute(record=recs[2])                                # one record
    assert calls[-1] == ({ents[1].id}, {202501})
    bulk.compute_accounts(record_ids=[r.id for r in recs[3:]])     # set-based, by record
    assert calls[-1] == ({ents[1].id, ents[2].id}, {202501, 202502})
    bulk.compute_accounts(periods=[202502])                        # whole months: every ent
    assert calls[-1] == (None, {202502}) and len(calls) == 4

    # the hook sees the new rows (same transaction) and can veto the change
    def veto(e, p):
        assert db.session.scalar(select(func.count()).select_from(CarbonAccount).where(
            CarbonAccount.enterprise_id.in_(e), CarbonAccount.version == 3)) == 2
        raise RuntimeError("veto")

    db.session.commit()
    monkeypatch.setattr(hooks, "AFTER_ACCOUNTS_CHANGED", [veto])
    with pytest.raises(RuntimeError):
        bulk.compute_accounts(record_ids=[recs[1].id, recs[3].id])
    db.session.rollback()
    assert db.session.scalar(select(func.max(CarbonAccount.version))) == 2


def test_parallel_batch_hooks_per_slice_commit_in_id_order(make_ent, db, monkeypatch):
    ents = [make_ent(230 + i) for i in range(8)]
    _records(db, ents, [1, 2, 3])
    commits, seen = [], []

    def hook(e, p):
        from app.extensions import db as fdb
        from app.jobs.outbox import enqueue

        sess = fdb.session()
        lo, hi = sess.execute(text(
            "SELECT min(id), max(id) FROM carbon_account "
            "WHERE xmin = pg_current_xact_id()::xid")).one()
        seen.append((e, p, sess))
        event.listen(sess, "after_commit", lambda _s: commits.append((lo, hi)), once=True)
        enqueue("accounting.issue_codes", periods=sorted(p))

    monkeypatch.setattr(hooks, "AFTER_ACCOUNTS_CHANGED", [hook])
    assert bulk.compute_accounts_parallel(periods=[202501, 202502, 202503], workers=2) == 24
    assert len(seen) == 2 and all(s is not db.session() for _e, _p, s in seen)
    assert set().union(*(e for e, _p, _s in seen)) == {e.id for e in ents}
    assert len(commits) == 2 and commits[0][1] < commits[1][0]     # lower ids first
    from app.uow import commit

    commit()    # the caller's commit dispatches the jobs the slices enqueued
    db.session.expire_all()
    assert {j.status for j in db.session.scalars(select(OutboxJob))} == {"done"}
    assert db.session.scalar(select(func.count()).select_from(CarbonCode)) > 0


def test_parallel_batch_failed_slice_rolls_back_later_slices(make_ent, db, monkeypatch):
    ents = [make_ent(240 + i) for i in range(6)]
    _records(db, ents, [1, 2])
    start = db.session.scalar(text(
        "SELECT pg_sequence_last_value(pg_get_serial_sequence('carbon_account', 'id'))")) or 0

    def boom(e, p):     # the slice holding the lowest ids fails after writing
        from app.extensions import db as fdb

        first = fdb.session().scalar(text(
            "SELECT min(id) FROM carbon_account WHERE xmin = pg_current_xact_id()::xid"))
        if first == start + 1:
            raise RuntimeError("first slice fails")

    monkeypatch.setattr(hooks, "AFTER_ACCOUNTS_CHANGED", [boom])
    with pytest.raises(RuntimeError):
        bulk.compute_accounts_parallel(periods=[202501, 202502], workers=2)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CarbonAccount)) == 0
