"""`cecp demo`: the demo school (institution@demo.cecp) has its base year and the current
years month by month, a target, and last year's disclosure published through the process;
the demo city's three public institutions fill the government dashboard."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.demo import demo_school_code
from app.institutions.models import InstitutionDisclosure, InstitutionTarget
from app.monitoring.models import InstitutionEnergy
from app.orgs.models import Institution


def test_demo_public_institutions(app, db, client):
    from app.cli import cli
    from app.identity.datascope import DataScope
    from app.institutions import dashboard

    runner = app.test_cli_runner()
    for _ in range(2):  # idempotent
        r = runner.invoke(cli, ["demo", "--enterprises", "3", "--months", "2"])
        assert r.exit_code == 0, r.output
    school = db.session.scalar(select(Institution).where(Institution.code == demo_school_code()))
    last = date.today().year - 1
    months = dict(db.session.execute(
        select(InstitutionEnergy.year, func.count(func.distinct(InstitutionEnergy.month)))
        .where(InstitutionEnergy.institution_id == school.id)
        .group_by(InstitutionEnergy.year)).all())
    assert months[school.base_year] == 12 and months[last] == 12
    assert db.session.scalar(select(func.count()).select_from(InstitutionTarget)) == 3
    published = db.session.scalars(select(InstitutionDisclosure)).all()
    assert [(d.institution_id, d.year, d.status) for d in published] == [
        (school.id, last, "published")]
    page = client.get(f"/disclosure/institutions/{demo_school_code()}")
    assert page.status_code == 200 and "湖州市示范中学" in page.get_data(as_text=True)
    rows = dashboard.build(scope=DataScope(region=("330500",)))["rows"]
    # the three monitoring demo institutions, ranked; the onboarded demo organisation's own
    # row (its USCC) has entered nothing yet and comes last, unranked
    assert {r["status"] for r in rows} >= {"at_risk", "on_track", "achieved"}
    ranked = [r for r in rows if r.get("rank")]
    assert [r["rank"] for r in ranked] == [1, 2, 3]
    assert {r["code"] for r in ranked} == {demo_school_code(), "PI-330500-002", "PI-330500-003"}
    assert all(r["status"] == "no_target" for r in rows if not r.get("rank"))
    # the demo school's account opens its workspace with the data
    from app.identity.models import User
    from tests.conftest import login

    user = db.session.scalar(select(User).where(User.email == "institution@demo.cecp"))
    from tests.conftest import enrol_totp

    enrol_totp(user)
    c = app.test_client()
    login(c, user, password=app.config["CECP_DEMO_PASSWORD"])
    location = c.get("/institutions/").headers["Location"]
    assert location.endswith(f"/institutions/{demo_school_code()}")
