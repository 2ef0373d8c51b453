"""Pages that do not mislead: monitoring opens on the latest complete period; a period most
enterprises have not reported yet is marked and left out of YoY / MoM."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from tests.conftest import enrol_totp, login


def _latest_period(db) -> int:
    from app.accounting.models import CarbonAccount as A

    return db.session.scalar(select(func.max(A.period)))


def _drop_most_of(db, period: int) -> None:
    """Only 2 of the 12 enterprises have reported `period` so far."""
    from app.accounting.models import CarbonAccount as A
    from app.monitoring import facts
    from app.monitoring.models import MonitoringFact

    ids = db.session.scalars(select(A.enterprise_id).where(A.period == period)
                             .order_by(A.enterprise_id)).all()
    gone = ids[2:]
    db.session.execute(delete(MonitoringFact).where(MonitoringFact.period == period,
                                                    MonitoringFact.enterprise_id.in_(gone)))
    db.session.execute(delete(A).where(A.period == period, A.enterprise_id.in_(gone)))
    facts.refresh_facts()
    db.session.commit()


def test_opens_on_the_latest_complete_month_and_marks_an_incomplete_one(
        monitored, make_user, client):
    latest = _latest_period(monitored)
    user = make_user("reviewer", region="330000")
    enrol_totp(user)
    login(client, user)
    before = client.get("/api/v1/monitoring/region").get_json()
    f = before["filters"]
    assert f["year"] * 100 + f["month"] == latest and before["summary"]["complete"] is True
    assert before["summary"]["yoy"] is not None

    _drop_most_of(monitored, latest)
    body = client.get("/api/v1/monitoring/region").get_json()
    f = body["filters"]
    previous = latest - 1 if latest % 100 > 1 else latest - 89
    assert f["year"] * 100 + f["month"] == previous  # the latest complete month
    assert body["summary"]["complete"] is True
    y, m = divmod(latest, 100)
    partial = client.get(f"/api/v1/monitoring/region?year={y}&month={m}").get_json()
    assert partial["summary"]["complete"] is False
    assert partial["summary"]["yoy"] is None and partial["summary"]["mom"] is None
    page = client.get(f"/monitoring/region?year={y}&month={m}").get_data(as_text=True)
    assert 'id="incomplete"' in page and "不计算同比、环比" in page
    assert page.count("CO2 排放量</div>") == 1  # no duplicated card
