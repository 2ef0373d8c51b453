"""Projects and assets through the API and pages: scope, tenant isolation, refusals (audited),
the public serial check."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditRecord
from app.trading import ledger
from app.trading.models import Project
from tests.conftest import login


def _world(make_ent, make_user, make_project, db):
    a, b = make_ent(1), make_ent(2, region="330502")
    pa, pb = make_project(a, code="PVA"), make_project(b, code="PVB")
    users = {"a": make_user("enterprise", enterprise=a.uscc),
             "b": make_user("enterprise", enterprise=b.uscc),
             "admin": make_user("admin"),
             "reviewer": make_user("reviewer", region="330522")}
    return a, b, pa, pb, users


def test_projects_scoped_per_tenant(client, make_ent, make_user, make_project, auth, db):
    a, b, pa, pb, u = _world(make_ent, make_user, make_project, db)
    seen = lambda who: {p["code"] for p in client.get(  # noqa: E731
        "/api/v1/trading/projects", headers=auth(u[who])).get_json()}
    assert seen("a") == {"PVA"}
    assert seen("b") == {"PVB"}
    assert seen("admin") == {"PVA", "PVB"}
    assert seen("reviewer") == {"PVA"}  # region 330522 covers A only
    h = auth(u["a"])
    assert client.get("/api/v1/trading/projects/PVB", headers=h).status_code == 404
    assert client.get("/api/v1/trading/projects/PVA", headers=h).get_json()["name"] == "PVA 项目"


def test_project_create_validates_and_stays_in_scope(client, make_ent, make_user, make_project,
                                                     auth, db):
    a, b, pa, pb, u = _world(make_ent, make_user, make_project, db)
    h = auth(u["a"])
    body = {"name": "屋顶光伏二期", "type": "photovoltaic", "enterprise": a.uscc,
            "methodology": "grid_renewable", "capacity_mw": "5.5",
            "crediting_start": "2026-01-01", "crediting_end": "2032-12-31"}
    r = client.post("/api/v1/trading/projects", headers=h, json=body)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["region"] == a.region_code and r.get_json()["capacity_mw"] == "5.5"
    # another tenant's enterprise: refused, naming the field, nothing stored
    r = client.post("/api/v1/trading/projects", headers=h, json={**body, "enterprise": b.uscc})
    assert r.status_code == 422 and "enterprise" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/trading/projects", headers=h, json={
        **body, "type": "coal", "methodology": "x", "capacity_mw": "-1",
        "crediting_end": "2020-01-01"})
    assert set(r.get_json()["error"]["fields"]) >= {"type", "methodology", "capacity_mw",
                                                    "crediting_end"}
    r = client.post("/api/v1/trading/projects", headers=h, json={"type": "wind"})
    assert r.status_code == 422 and "name" in r.get_json()["error"]["fields"]
    assert db.session.scalar(select(Project.id).where(Project.enterprise_uscc == b.uscc,
                                                      Project.name == "屋顶光伏二期")) is None


def test_issue_transfer_retire_through_api(client, make_ent, make_user, make_project, auth,
                                           db):
    a, b, pa, pb, u = _world(make_ent, make_user, make_project, db)
    ha, hb, hadmin = auth(u["a"]), auth(u["b"]), auth(u["admin"])
    body = {"project": "PVA", "vintage": 2025, "quantity": 1000, "reference": "CERT-2025-1"}
    assert client.post("/api/v1/assets/issuances", headers=ha, json=body).status_code == 403
    r = client.post("/api/v1/assets/issuances", headers=hadmin, json=body)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["serial_start"] == "PVA-2025-000000001"
    acc_a, acc_b = f"E-{a.uscc}", f"E-{b.uscc}"
    ledger.holding_account(enterprise=b)
    db.session.commit()
    r = client.post("/api/v1/assets/transfers", headers=ha, json={
        "lot": 1, "from_account": acc_a, "to_account": acc_b, "quantity": 400})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["balance"] == 600
    # B retires an exact range it holds
    r = client.post("/api/v1/assets/retirements", headers=hb, json={
        "serial": "PVA-2025-000000101", "from_account": acc_b, "quantity": 50,
        "reason": "2025 年度排放抵销"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["movements"][0]["serial_end"] == "PVA-2025-000000150"
    holdings = client.get(f"/api/v1/assets/accounts/{acc_b}/holdings", headers=hb).get_json()
    assert holdings["balance"] == 350
    # A cannot read B's holdings; accounts listed are its own only
    assert client.get(f"/api/v1/assets/accounts/{acc_b}/holdings",
                      headers=ha).status_code == 404
    assert [x["code"] for x in client.get("/api/v1/assets/accounts",
                                          headers=ha).get_json()] == [acc_a]
    # public serial check: no login needed, holder not named
    r = client.get("/api/v1/assets/serials/PVA-2025-000000120")
    assert r.status_code == 200
    s = r.get_json()
    assert s["retired"] is True and s["vintage"] == 2025 and s["project"]["code"] == "PVA"
    assert a.uscc not in str(s) and b.uscc not in str(s)
    assert client.get("/api/v1/assets/serials/PVA-2025-000009999").status_code == 404
    assert client.get("/api/v1/assets/serials/garbage").status_code == 404


def test_refusals_clear_and_audited(client, make_ent, make_user, make_project, auth, db):
    a, b, pa, pb, u = _world(make_ent, make_user, make_project, db)
    ha, hb = auth(u["a"]), auth(u["b"])
    ledger.issue(project=pa, vintage=2025, quantity=10, to_account=ledger.holding_account(
        enterprise=a))
    acc_b = ledger.holding_account(enterprise=b).code
    db.session.commit()
    acc_a = f"E-{a.uscc}"
    cases = [
        (hb, {"lot": 1, "from_account": acc_a, "to_account": acc_b, "quantity": 1},
         403, "from_account"),  # outside scope
        (ha, {"lot": 1, "from_account": acc_a, "to_account": acc_b, "quantity": 11},
         422, "quantity"),  # more than the balance
        (ha, {"serial": "PVB-2025-000000001", "from_account": acc_a, "to_account": acc_b,
              "quantity": 1}, 422, "serial"),  # foreign serial
        (ha, {"lot": 1, "from_account": acc_a, "to_account": "E-NOPE", "quantity": 1},
         422, "to_account"),
        (ha, {"lot": 1, "from_account": acc_a, "to_account": acc_b, "quantity": "1"},
         422, "quantity"),
    ]
    for headers, body, status, field in cases:
        r = client.post("/api/v1/assets/transfers", headers=headers, json=body)
        assert r.status_code == status, (body, r.get_json())
        assert field in r.get_json()["error"]["fields"], r.get_json()
    r = client.post("/api/v1/assets/retirements", headers=ha, json={
        "lot": 1, "from_account": acc_a, "quantity": 2, "reason": "抵销"})
    assert r.status_code == 201
    r = client.post("/api/v1/assets/transfers", headers=ha, json={
        "serial": "PVA-2025-000000001", "from_account": acc_a, "to_account": acc_b,
        "quantity": 1})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "serial_retired"
    assert "已注销" in r.get_json()["error"]["message"]
    refused = db.session.scalars(select(AuditRecord).where(
        AuditRecord.action == "trading.refused")).all()
    assert len(refused) == 5  # the schema error (string quantity) never reaches the ledger
    assert ledger.balance(account_id=ledger.holding_account(enterprise=a).id) == 8


def test_pages(client, make_ent, make_user, make_project, db):
    a, b, pa, pb, u = _world(make_ent, make_user, make_project, db)
    ledger.issue(project=pa, vintage=2025, quantity=1234, to_account=ledger.holding_account(
        enterprise=a))
    db.session.commit()
    r = client.get("/assets/serials?serial=PVA-2025-000000007")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "有效" in html and "PVA 项目" in html
    assert client.get("/assets/serials?serial=PVA-2025-000009999").status_code == 404
    login(client, u["a"])
    html = client.get("/trading/projects").get_data(as_text=True)
    assert "PVA 项目" in html and "PVB 项目" not in html
    assert "1,234 tCO2e" in html and "光伏发电" in html and "20.00 MW" in html
