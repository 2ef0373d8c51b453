"""`POST /api/v1/enterprises/{uscc}/carbon-account/{period}/restatements`: the admin action
for a restatement — explicit reason, audited, a new version over a frozen month, the old one
kept; refused for other roles, outside the caller's scope and for open months."""

from datetime import date

from sqlalchemy import select

from app.accounting import service
from app.accounting.models import CarbonAccount
from app.energy import records
from app.identity.scope import DataScope
from app.uow import commit
from tests.accounting.helpers import elec, record

URL = "/api/v1/enterprises/{}/carbon-account/{}/restatements"


def _frozen_month(ent, db):
    records.create_many(items=[record(ent, 2024, 5, [elec(10)])], scope=DataScope(all=True),
                        today=date(2026, 1, 1))
    service.freeze(enterprise_id=ent.id, periods=[202405], status="verified")
    commit()


def test_admin_restates_a_frozen_month(client, make_ent, make_user, auth, db):
    ent = make_ent(801)
    _frozen_month(ent, db)
    admin = make_user("admin")
    r = client.post(URL.format(ent.uscc, "2024-05"), json={"reason": "核查意见：电表倍率"},
                    headers=auth(admin))
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    assert (out["version"], out["status"], out["is_current"]) == (2, "published", True)
    old = db.session.scalar(select(CarbonAccount).where(CarbonAccount.version == 1))
    assert out["restates_id"] == old.id and old.status == "verified" and not old.is_current
    r = client.get(f"/api/v1/enterprises/{ent.uscc}/carbon-account?year=2024&month=5",
                   headers=auth(admin))
    body = r.get_json()
    assert body["status"] == "published"
    assert [(v["version"], v["status"]) for v in body["versions"]] == [(2, "published"),
                                                                      (1, "verified")]


def test_restatement_refused_without_reason_role_scope_or_freeze(client, make_ent,
                                                                 make_user, auth, db):
    ent, other = make_ent(802), make_ent(803)
    _frozen_month(ent, db)
    records.create_many(items=[record(other, 2024, 5, [elec(10)])],
                        scope=DataScope(all=True), today=date(2026, 1, 1))
    commit()
    admin = make_user("admin")
    r = client.post(URL.format(ent.uscc, "2024-05"), json={}, headers=auth(admin))
    assert r.status_code == 422 and "reason" in r.get_json()["error"]["fields"]
    r = client.post(URL.format(ent.uscc, "2024"), json={"reason": "x"}, headers=auth(admin))
    assert r.status_code == 422 and "period" in r.get_json()["error"]["fields"]
    r = client.post(URL.format(other.uscc, "2024-05"), json={"reason": "x"},
                    headers=auth(admin))
    assert r.status_code == 422 and "未发布或核查" in r.get_json()["error"]["message"]
    company = make_user("enterprise", enterprise=ent.uscc)
    r = client.post(URL.format(ent.uscc, "2024-05"), json={"reason": "x"},
                    headers=auth(company))
    assert r.status_code == 403
    reviewer = make_user("reviewer", region="330100")     # Hangzhou: not the enterprise's
    r = client.post(URL.format(ent.uscc, "2024-05"), json={"reason": "x"},
                    headers=auth(reviewer))
    assert r.status_code in (403, 404)
    assert db.session.scalar(select(CarbonAccount.version).where(
        CarbonAccount.enterprise_id == ent.id, CarbonAccount.is_current)) == 1
