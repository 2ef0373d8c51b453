"""R-6.1.4: public institutions' monthly energy and CO2, base-year reduction, disclosure."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.monitoring.models import InstitutionEnergy
from app.orgs.models import Institution


@pytest.fixture()
def institutions(reference):
    from app.energy import service as energy
    from app.monitoring.institutions import record_month

    energy.load_reference()
    pub = Institution(code="PI-T-1", name="公开医院", kind="public", region_code="330502",
                      base_year=2020, published=True)
    hidden = Institution(code="PI-T-2", name="未公开学校", kind="public", region_code="330102",
                         base_year=2020, published=False)
    reference.session.add_all([pub, hidden])
    reference.session.flush()
    for inst in (pub, hidden):
        for year, kwh in ((2020, 100), (2024, 80)):
            for m in range(1, 13):
                record_month(institution=inst, year=year, month=m,
                             lines=[{"item": "electricity", "amount": kwh},
                                    {"item": "natural_gas", "amount": "0.5"}],
                             verified=True)
    reference.session.commit()
    return pub, hidden


def test_co2_uses_the_engine_and_factor_library(institutions, reference):
    from app.energy import service as energy

    pub, _ = institutions
    rows = reference.session.scalars(select(InstitutionEnergy).where(
        InstitutionEnergy.institution_id == pub.id, InstitutionEnergy.period == 202401)).all()
    elec = next(r for r in rows if r.item == "electricity")
    factor = energy.resolve(year=2024, region_code="330502").factors["electricity"]
    assert elec.co2 == (Decimal(80) * factor.value).quantize(Decimal("0.000001"))
    assert elec.tce == (Decimal(80) * Decimal("0.1229")).quantize(Decimal("0.000001"))


def test_public_page_lists_only_published(client, institutions):
    r = client.get("/public-institutions?year=2024")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "公开医院" in html and "未公开学校" not in html and "数据截至" in html
    body = client.get("/api/v1/monitoring/institution?year=2024").get_json()
    table = body["datasets"][0]
    assert [r[0] for r in table["rows"]] == ["PI-T-1"]
    row = table["rows"][0]
    base, cur, reduction, pct = row[4], row[5], row[7], row[8]
    assert reduction == pytest.approx(base - cur, abs=0.002)
    assert pct == pytest.approx(reduction / base * 100, abs=0.01)
    assert row[9] == "已核查"


def test_reviewer_sees_institutions_in_region_even_unpublished(client, institutions,
                                                               make_user):
    from tests.conftest import enrol_totp, login

    user = make_user("reviewer", region="330100")
    enrol_totp(user)
    login(client, user)
    body = client.get("/api/v1/monitoring/institution?year=2024").get_json()
    assert [r[0] for r in body["datasets"][0]["rows"]] == ["PI-T-2"]
    assert client.get("/monitoring/institutions").status_code == 200


def test_record_month_replaces_and_validates(institutions, reference):
    from app.monitoring.institutions import InstitutionDataError, record_month

    pub, _ = institutions
    record_month(institution=pub, year=2024, month=1, lines=[{"item": "electricity",
                                                             "amount": 1}])
    n = reference.session.scalar(select(func.count()).select_from(InstitutionEnergy).where(
        InstitutionEnergy.institution_id == pub.id, InstitutionEnergy.period == 202401))
    assert n == 1
    with pytest.raises(InstitutionDataError) as exc:
        record_month(institution=pub, year=2024, month=2, lines=[{"item": "unobtainium",
                                                                 "amount": 1}])
    assert exc.value.field == "lines.0.item"


def test_export_of_public_disclosure_needs_no_login(client, institutions):
    r = client.get("/monitoring/export/public_institution/institutions.csv?year=2024")
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert "公开医院" in text and "未公开学校" not in text


def test_a_partial_year_is_compared_with_the_same_months_of_the_base_year(
        client, institutions, reference):
    from app.monitoring.institutions import record_month

    pub, _ = institutions
    for m in (1, 2, 3):  # 2025 so far: three months
        record_month(institution=pub, year=2025, month=m,
                     lines=[{"item": "electricity", "amount": 90},
                            {"item": "natural_gas", "amount": "0.5"}], verified=True)
    reference.session.commit()
    default = client.get("/api/v1/monitoring/institution").get_json()
    assert default["year"] == 2024  # opens on the latest complete year
    body = client.get("/api/v1/monitoring/institution?year=2025").get_json()
    table = body["datasets"][0]
    row = table["rows"][0]
    base_q1 = reference.session.scalar(select(func.sum(InstitutionEnergy.co2)).where(
        InstitutionEnergy.institution_id == pub.id, InstitutionEnergy.year == 2020,
        InstitutionEnergy.month.in_((1, 2, 3))))
    assert row[4] == pytest.approx(float(base_q1), abs=0.002)  # not the whole of 2020
    assert "相同月份" in table["note"]
