"""Energy records: API batch, form and validation (bad input rejected with field-level
Chinese messages, nothing half-written)."""

from decimal import Decimal

from sqlalchemy import func, select

from app.accounting.models import CarbonAccount, CarbonCode
from app.energy.models import EnergyLine, EnergyRecord
from tests.accounting.helpers import elec, record
from tests.conftest import login


def _counts(db):
    return (db.session.scalar(select(func.count()).select_from(EnergyRecord)),
            db.session.scalar(select(func.count()).select_from(EnergyLine)),
            db.session.scalar(select(func.count()).select_from(CarbonAccount)))


def test_batch_post_computes_accounts_and_codes(client, make_ent, make_user, auth, db):
    ent = make_ent(1)
    user = make_user("enterprise", enterprise=ent.uscc)
    body = {"records": [
        record(ent, 2026, 1, [elec(1000), {"item": "natural_gas", "flow": "consumed",
                                           "amount": "10", "unit": "万立方米"}]),
        record(ent, 2026, 2, [{"item": "electricity", "flow": "purchased",
                               "amount": "800000", "unit": "kWh"}]),
    ]}
    r = client.post("/api/v1/energy-records", json=body, headers=auth(user))
    assert r.status_code == 201, r.get_json()
    assert [x["month"] for x in r.get_json()] == [1, 2]
    accs = db.session.scalars(select(CarbonAccount).order_by(CarbonAccount.period)).all()
    assert len(accs) == 2 and all(a.is_current for a in accs)
    # 800000 kWh converted to 800 MWh on entry
    assert accs[1].electricity_mwh == 800
    # the issue-codes job ran after commit (month and year codes, two schemes)
    assert db.session.scalar(select(func.count()).select_from(CarbonCode)) == 2 * 3


def test_bad_input_rejected_field_by_field_nothing_written(client, make_ent, make_user, auth,
                                                           db):
    ent = make_ent(2)
    other = make_ent(3)
    user = make_user("enterprise", enterprise=ent.uscc)
    headers = auth(user)
    ok = record(ent, 2026, 3, [elec(100)])
    assert client.post("/api/v1/energy-records", json={"records": [ok]},
                       headers=headers).status_code == 201
    before = _counts(db)
    bad = {"records": [
        record(ent, 2026, 4, [elec(100)]),                                   # fine alone
        record(ent, 2026, 5, [{"item": "electricity", "flow": "purchased", "amount": "-5",
                               "unit": "MWh"}]),                             # negative
        record(ent, 2026, 6, [{"item": "unobtainium", "flow": "consumed", "amount": "1",
                               "unit": "t"}]),                               # unknown type
        record(ent, 2026, 7, [{"item": "diesel", "flow": "consumed", "amount": "1",
                               "unit": "MWh"}]),                             # unit mismatch
        record(ent, 2099, 1, [elec(1)]),                                     # future month
        record(ent, 2026, 3, [elec(1)]),                                     # duplicate month
        {**record(ent, 2026, 8, [elec(1)]), "uscc": "91330522MA3000002X"},   # bad USCC
        record(other, 2026, 8, [elec(1)]),                                   # out of scope
        record(ent, 2026, 9, [elec(1), elec(2)]),                            # duplicate line
    ]}
    r = client.post("/api/v1/energy-records", json=bad, headers=headers)
    assert r.status_code == 422
    fields = r.get_json()["error"]["fields"]
    assert fields["records.1.lines.0.amount"] == "数量不能为负数"
    assert "未知的能源品种" in fields["records.2.lines.0.item"]
    assert "单位不匹配" in fields["records.3.lines.0.unit"]
    assert "未来月份" in fields["records.4.month"]
    assert "已存在" in fields["records.5.month"]
    assert "校验位" in fields["records.6.uscc"]
    assert "数据范围" in fields["records.7.uscc"]
    assert "重复" in fields["records.8.lines.1.item"]
    assert "records.0.month" not in fields
    assert _counts(db) == before


def test_missing_library_parameters_need_measured_values(client, make_ent, make_user, auth):
    ent = make_ent(4)
    user = make_user("enterprise", enterprise=ent.uscc)
    coal = {"item": "raw_coal", "flow": "consumed", "amount": "10", "unit": "t"}
    r = client.post("/api/v1/energy-records", json={"records": [record(ent, 2026, 1, [coal])]},
                    headers=auth(user))
    assert r.status_code == 422
    assert "实测" in r.get_json()["error"]["fields"]["records.0.lines.0.carbon_content"]
    coal.update(carbon_content="0.0264", oxidation_rate="0.94")
    r = client.post("/api/v1/energy-records", json={"records": [record(ent, 2026, 1, [coal])]},
                    headers=auth(user))
    assert r.status_code == 201


def test_form_shows_chinese_field_errors_and_saves(client, make_ent, make_user, db):
    ent = make_ent(5)
    user = make_user("enterprise", enterprise=ent.uscc)
    login(client, user)
    assert client.get("/energy/records/new").status_code == 200
    form = {"uscc": ent.uscc, "year": "2026", "month": "2", "gross_output": "100",
            "value_added": "abc", "rows": "3",
            "line-0-item": "electricity", "line-0-flow": "purchased", "line-0-amount": "-1",
            "line-0-unit": "MWh",
            "line-2-item": "diesel", "line-2-flow": "consumed", "line-2-amount": "3",
            "line-2-unit": "kg"}
    r = client.post("/energy/records/new", data=form)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "工业增加值必须是数字" in page and 'data-field="line-0-amount"' in page
    assert db.session.scalar(select(func.count()).select_from(EnergyRecord)) == 0
    form.update({"value_added": "50", "line-0-amount": "10"})
    r = client.post("/energy/records/new", data=form)
    assert r.status_code == 302
    rec = db.session.scalar(select(EnergyRecord))
    assert rec.lines[1].unit == "t" and rec.lines[1].amount == Decimal("0.003")  # 3 kg
    assert client.get("/energy/records").status_code == 200
    assert client.get(f"/energy/records/{rec.id}/edit").status_code == 200
    form.update({"line-0-amount": "20"})
    r = client.post(f"/energy/records/{rec.id}/edit", data=form)
    assert r.status_code == 302
    versions = db.session.scalars(select(CarbonAccount).order_by(CarbonAccount.version)).all()
    assert [v.version for v in versions] == [1, 2]
    assert [v.is_current for v in versions] == [False, True]


def test_record_of_other_enterprise_is_404(client, make_ent, make_user, auth):
    mine, theirs = make_ent(6), make_ent(7)
    owner = make_user("enterprise", enterprise=theirs.uscc)
    client.post("/api/v1/energy-records", json={"records": [record(theirs, 2026, 1, [elec(5)])]},
                headers=auth(owner))
    user = make_user("enterprise", enterprise=mine.uscc)
    login(client, user)
    assert client.get("/energy/records/1/edit").status_code == 404
    r = client.get("/api/v1/energy-records", headers=auth(user))
    assert r.status_code == 200 and r.get_json() == []
