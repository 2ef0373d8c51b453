"""Research institutes' data requests (R-6.5.1): approval, then an aggregated export where
every published cell covers at least k enterprises and none is dominated by one enterprise;
withheld cells cannot be derived from their neighbours; institutions never see each other's
requests or exports; every step audited."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from sqlalchemy import select

from app.audit.models import AuditRecord
from app.identity.models import User
from app.onboarding import disclosure
from app.refdata.uscc import make_uscc
from tests.conftest import api_token

BODY = {"purpose": "研究湖州市水泥与化工行业的碳排放强度及其年度变化，用于区域减排潜力评估。",
        "indicators": ["co2", "value_added", "intensity"], "regions": ["330500"],
        "region_level": "city", "period_from": "2025-01", "period_to": "2025-12"}


def _accounts(db, *, region: str, industry: str, co2: list[float], seq: int) -> None:
    """One enterprise per entry of `co2` (its annual CO2, spread over 12 months)."""
    from app.accounting.models import CarbonAccount
    from app.orgs.models import Enterprise

    for i, annual in enumerate(co2):
        ent = Enterprise(uscc=make_uscc(f"91330500{seq:04d}{i:05d}"), name=f"研究测试企业{seq}-{i}",
                         region_code=region, industry_code=industry)
        db.session.add(ent)
        db.session.flush()
        for m in range(1, 13):
            value = Decimal(str(annual)) / 12
            db.session.add(CarbonAccount(
                enterprise_id=ent.id, year=2025, month=m, period=202500 + m,
                region_code=region, industry_code=industry, energy_tce=value / 2,
                co2_total=value, co2_combustion=value, co2_process=Decimal(0),
                co2_electricity=Decimal(0), co2_heat=Decimal(0),
                co2_electricity_exported=Decimal(0), co2_heat_exported=Decimal(0),
                co2_biomass=Decimal(0), electricity_mwh=Decimal(10), value_added=Decimal(100),
                gross_output=Decimal(300), version=1, is_current=True))
    db.session.commit()


def _member(client, reference, onboard, kind: str = "research"):
    org, email, pw = onboard(kind=kind)
    user = reference.session.scalar(select(User).where(User.email == email))
    return org, user, api_token(client, user, password=pw)


def test_cells_below_k_or_dominated_are_withheld_and_not_derivable():
    C = disclosure.Cell
    cells = [C(("3305", "30", 2025), 7, {"co2": Decimal(700)}, {"co2": Decimal(120)}),
             C(("3305", "26", 2025), 2, {"co2": Decimal(50)}, {"co2": Decimal(30)}),
             C(("3305", "17", 2025), 6, {"co2": Decimal(600)}, {"co2": Decimal(500)}),
             C(("3305", "22", 2025), 9, {"co2": Decimal(90)}, {"co2": Decimal(20)})]
    disclosure.protect(cells, k=5, share=0.5)
    assert [c.suppressed for c in cells] == [None, "k", "dominance", None]
    # two withheld in the row: nothing more to hide; with only one, its smallest
    # neighbour goes too (a known row total would give it away)
    cells = [C(("3305", "30", 2025), 7, {"co2": Decimal(700)}, {"co2": Decimal(120)}),
             C(("3305", "26", 2025), 2, {"co2": Decimal(50)}, {"co2": Decimal(30)}),
             C(("3305", "22", 2025), 6, {"co2": Decimal(90)}, {"co2": Decimal(20)})]
    disclosure.protect(cells, k=5, share=0.5)
    assert [c.suppressed for c in cells] == [None, "k", "secondary"]


def test_request_approval_and_k_anonymous_export(client, reference, onboard, make_user, auth,
                                                   app):
    db = reference
    _accounts(db, region="330502", industry="3011", co2=[100] * 6, seq=1)      # 6: published
    _accounts(db, region="330502", industry="2611", co2=[100, 120], seq=2)     # 2: k
    _accounts(db, region="330502", industry="3120", co2=[900, 10, 10, 10, 10, 10], seq=3)
    _accounts(db, region="330102", industry="3011", co2=[100] * 8, seq=4)      # not asked
    org_a, member_a, h_a = _member(client, reference, onboard)
    org_b, member_b, h_b = _member(client, reference, onboard)
    admin = auth(make_user("admin"))

    # bad input: every field named, in Chinese
    r = client.post("/api/v1/research/requests", headers=h_a, json={
        **BODY, "indicators": ["co2", "salary"], "regions": ["339999"], "purpose": "短",
        "period_from": "2025-13", "region_level": "street"})
    err = r.get_json()["error"]["fields"]
    assert r.status_code == 422 and set(err) >= {"indicators", "regions", "purpose",
                                                 "period_from", "region_level"}, err
    assert "salary" in err["indicators"] and "339999" in err["regions"]
    # only research institutes ask; an exchange member or an enterprise may not
    _, _, h_x = _member(client, reference, onboard, kind="exchange")
    assert client.post("/api/v1/research/requests", headers=h_x, json=BODY).status_code == 403

    r = client.post("/api/v1/research/requests", headers=h_a, json=BODY)
    assert r.status_code == 201, r.get_json()
    uid = r.get_json()["id"]
    assert r.get_json()["status"] == "submitted"
    # the export does not exist before approval; B never sees A's request
    assert client.get(f"/api/v1/research/requests/{uid}/export", headers=h_a).status_code == 409
    for url in (f"/api/v1/research/requests/{uid}", f"/api/v1/research/requests/{uid}/export",
                f"/api/v1/research/requests/{uid}/export.csv"):
        assert client.get(url, headers=h_b).status_code == 404
    assert client.get("/api/v1/research/requests", headers=h_b).get_json()["items"] == []
    # members cannot approve their own request; return needs a reason
    assert client.post(f"/api/v1/research/requests/{uid}/decision", headers=h_a,
                       json={"decision": "approve"}).status_code == 403
    r = client.post(f"/api/v1/research/requests/{uid}/decision", headers=admin,
                    json={"decision": "return"})
    assert r.status_code == 422 and "reason" in r.get_json()["error"]["fields"]
    r = client.post(f"/api/v1/research/requests/{uid}/decision", headers=admin,
                    json={"decision": "approve"})
    assert r.status_code == 200, r.get_json()
    # the job ran at commit (embedded mode): the export is ready
    body = client.get(f"/api/v1/research/requests/{uid}/export", headers=h_a).get_json()
    assert body["request"]["status"] == "ready" and body["rules"]["min_enterprises"] == 5
    rows = {r["industry_code"]: r for r in body["rows"]}
    assert set(rows) == {"30", "26", "31"}  # Hangzhou (330102) was not asked for
    assert rows["30"]["enterprises"] == 6 and Decimal(rows["30"]["co2"]) == Decimal("600.00")
    # intensity = ΣCO2 / Σvalue added, half-up to 6 places like the benchmarks
    assert rows["30"]["intensity"] == "0.083333"
    assert rows["26"]["suppressed"] and rows["26"]["co2"] is None
    assert rows["26"]["enterprises"] is None and "5" in rows["26"]["reason"]
    assert rows["31"]["suppressed"] and "50%" in rows["31"]["reason"]
    # the CSV says the same, in Chinese headings
    r = client.get(f"/api/v1/research/requests/{uid}/export.csv", headers=h_a)
    table = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert table[0][:3] == ["行政区划代码", "地区", "行业代码"]
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert [t for t in table[1:] if t[2] == "26"][0][5] == ""   # withheld: no count
    # a second approval is refused: the request is decided
    assert client.post(f"/api/v1/research/requests/{uid}/decision", headers=admin,
                       json={"decision": "approve"}).status_code == 409
    actions = set(db.session.scalars(select(AuditRecord.action).where(
        AuditRecord.object_id == uid)))
    assert {"research.request", "research.approve", "research.export_built",
            "research.export_download"} <= actions


def test_returned_request_is_changed_and_sent_again(client, reference, onboard, make_user,
                                                     auth):
    _, _, h_a = _member(client, reference, onboard)
    admin = auth(make_user("admin"))
    uid = client.post("/api/v1/research/requests", headers=h_a, json=BODY).get_json()["id"]
    r = client.post(f"/api/v1/research/requests/{uid}/decision", headers=admin,
                    json={"decision": "return", "reason": "请缩小到 2025 年上半年"})
    assert r.get_json()["status"] == "returned"
    r = client.post(f"/api/v1/research/requests/{uid}/resubmit", headers=h_a,
                    json={**BODY, "period_to": "2025-06"})
    assert r.status_code == 200 and r.get_json()["status"] == "submitted"
    assert r.get_json()["period_to"] == "2025-06"
    # an enterprise user has no research requests and cannot read one
    ent_user = auth(make_user("enterprise", enterprise=make_uscc("91330500000000001")))
    assert client.get(f"/api/v1/research/requests/{uid}", headers=ent_user).status_code == 404


def test_research_page_in_chinese(client, reference, onboard):
    from tests.conftest import enrol_totp, login

    org, email, pw = onboard(kind="research")
    user = reference.session.scalar(select(User).where(User.email == email))
    enrol_totp(user)  # the institute's administrator (org_admin) must use TOTP
    login(client, user, password=pw)
    page = client.get("/research/").get_data(as_text=True)
    assert "科研数据申请" in page and "新建申请" in page
    r = client.post("/research/", data={"purpose": "短", "regions": "339999",
                                        "period_from": "2025-01", "period_to": "2024-01"})
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and "请说明研究目的" in text and "339999" in text
    assert "截止月份不能早于起始月份" in text
    # a model registered from the page is run and its results shown (withheld under k)
    _accounts(reference, region="330502", industry="3011", co2=[120] * 2, seq=7)
    r = client.post("/research/models", data={
        "name": "页面模型", "region": "330500", "period_from": "2025-01",
        "period_to": "2025-12", "parameters": '{"30": {"a": 2, "b": 0.9}}'})
    assert r.status_code == 302
    page = client.get("/research/").get_data(as_text=True)
    assert "页面模型" in page and "合计" in page and "不公开指标" in page
    r = client.post("/research/models", data={"name": "x", "parameters": "{"})
    assert r.status_code == 422 and "参数应为 JSON 对象" in r.get_data(as_text=True)


def test_a_registered_model_is_run_against_the_accounts(client, reference, onboard):
    """CO2 = a + b · MWh per division, compared with the accounted CO2: the figures below are
    worked by hand from `_accounts` (each month: CO2 = annual / 12, electricity 10 MWh)."""
    db = reference
    _accounts(db, region="330502", industry="3011", co2=[120] * 5, seq=5)   # 10 t a month
    _accounts(db, region="330502", industry="2611", co2=[240] * 2, seq=6)   # 2 firms: withheld
    _, _, h_a = _member(client, reference, onboard)
    _, _, h_b = _member(client, reference, onboard)
    model = {"name": "电碳线性模型", "region": "330500", "period_from": "2025-01",
             "period_to": "2025-12",
             # division 30: 2 + 0.9·10 = 11 t against 10 t → +10 % every month
             "parameters": {"30": {"a": 2, "b": 0.9}, "*": {"a": 0, "b": 2}}}
    r = client.post("/api/v1/research/models", headers=h_a, json={
        **model, "parameters": {"30": {"a": 2, "b": 99}, "99": {"a": 0, "b": 1}}})
    assert r.status_code == 422 and "parameters" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/research/models", headers=h_a, json=model)
    assert r.status_code == 201, r.get_json()
    uid = r.get_json()["id"]
    out = client.get(f"/api/v1/research/models/{uid}", headers=h_a).get_json()
    assert out["status"] == "done", out
    by = {d["code"]: d for d in out["result"]["divisions"]}
    assert by["30"]["enterprises"] == 5 and by["30"]["months"] == 60
    assert by["30"]["mape_pct"] == 10.0 and by["30"]["bias_pct"] == 10.0
    assert by["30"]["max_error_pct"] == 10.0
    assert by["26"]["enterprises"] is None and "mape_pct" not in by["26"]  # under k
    # overall: 5 firms at +10 %, 2 firms (20 t a month) predicted 2·10 = 20 t: 0 %
    overall = out["result"]["overall"]
    assert overall["enterprises"] == 7 and overall["mape_pct"] == round(
        (60 * 10.0 + 24 * 0.0) / 84, 2)
    assert overall["bias_pct"] == round((60 * 11 + 24 * 20 - 60 * 10 - 24 * 20)
                                        / (60 * 10 + 24 * 20) * 100, 2)
    # another institute sees nothing of it
    assert client.get(f"/api/v1/research/models/{uid}", headers=h_b).status_code == 404
    assert client.get("/api/v1/research/models", headers=h_b).get_json()["items"] == []
