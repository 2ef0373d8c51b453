"""Carbon efficiency code: grading boundaries, weighted benchmark, not graded reasons,
signed QR token (R-6.2.1)."""

from decimal import Decimal as D

import pytest
from sqlalchemy import select

from app.accounting import codes
from app.accounting.models import CarbonCode, IndustryBenchmark
from app.energy import records
from app.identity.scope import DataScope
from tests.accounting.helpers import record

EF_FACTOR = "process_generic_test"


def _emit(ent, co2, va, month=1):
    """A record whose CO2 is exactly `co2` t (generic process line, factor 1)."""
    return record(ent, 2026, month, [{"item": "generic", "flow": "process", "amount": str(co2),
                                      "unit": "t", "factor_value": "1"}], va=str(va))


def _issue(db, items, method):
    recs = records.create_many(items=items, scope=DataScope(all=True), compute=False)
    from app.accounting import bulk

    bulk.compute_accounts(record_ids=[r.id for r in recs])
    codes.issue(periods=[202601], method=method)
    db.session.commit()


@pytest.mark.parametrize("method", ["row", "set"])
def test_grade_boundaries_exact(energy_ref, make_ent, method):
    db = energy_ref
    # intensities 0.6, 0.8, 1.2, 2.0 (t/万元) + a filler making the weighted mean exactly 1:
    # Σco2 = 0.6+0.8+1.2+2.0+0.4 = 5.0 over Σva = 5 -> benchmark 1.0, so K = intensity.
    ks = ["0.6", "0.8", "1.2", "2.0", "0.4"]
    ents = [make_ent(10 + i) for i in range(5)]
    _issue(db, [_emit(e, D(k) * 100, 100) for e, k in zip(ents, ks, strict=True)], method)
    got = {}
    for e, k in zip(ents, ks, strict=True):
        c = codes.current_for(enterprise_id=e.id, period_key="2026-01")
        got[k] = (c.k_value, c.grade, c.method)
    assert got["0.6"] == (D("0.6000"), 1, method)   # K <= 0.6 -> grade 1
    assert got["0.8"][:2] == (D("0.8000"), 2)       # 0.6 < K <= 0.8
    assert got["1.2"][:2] == (D("1.2000"), 3)       # 0.8 < K <= 1.2
    assert got["2.0"][:2] == (D("2.0000"), 4)       # 1.2 < K <= 2.0
    assert got["0.4"][:2] == (D("0.4000"), 1)
    tier = codes.current_for(enterprise_id=ents[3].id, period_key="2026-01",
                             scheme_id="zj_carbon_intensity_tiers")
    assert (tier.intensity, tier.grade, tier.grade_label) == (D("2.000000"), 2, "中碳")
    tier = codes.current_for(enterprise_id=ents[0].id, period_key="2026-01",
                             scheme_id="zj_carbon_intensity_tiers")
    assert tier.grade_label == "低碳"


@pytest.mark.parametrize("method", ["row", "set"])
def test_benchmark_is_weighted_not_mean_of_ratios(energy_ref, make_ent, method):
    db = energy_ref
    # A: 10 t / 10 万元 (1.0); B..E: 90 t / 900 万元 each (0.1)
    # weighted: (10 + 360) / (10 + 3600) = 0.102493...; mean of ratios would be 0.28
    a = make_ent(20)
    rest = [make_ent(21 + i) for i in range(4)]
    _issue(db, [_emit(a, 10, 10)] + [_emit(e, 90, 900) for e in rest], method)
    b = db.session.scalar(select(IndustryBenchmark).where(IndustryBenchmark.period_key ==
                                                          "2026-01"))
    assert (b.co2_total, b.value_added_total, b.enterprises) == (D("370"), D("3610"), 5)
    assert b.intensity == D("0.102493")
    c = codes.current_for(enterprise_id=a.id, period_key="2026-01")
    # K = (10/10) / (370/3610) = 3610/370 = 9.7567...
    assert c.k_value == D("9.7568") and c.grade == 5
    assert c.benchmark_intensity == D("0.102493")


@pytest.mark.parametrize("method", ["row", "set"])
def test_not_graded_reasons(energy_ref, make_ent, method):
    db = energy_ref
    few = [make_ent(30 + i, industry="2614") for i in range(2)]
    nova = make_ent(40)
    items = [_emit(e, 100, 100) for e in few] + [
        {**_emit(nova, 100, 100), "value_added": None}]
    items += [_emit(make_ent(41 + i), 50, 100) for i in range(5)]
    _issue(db, items, method)
    c = codes.current_for(enterprise_id=few[0].id, period_key="2026-01")
    assert not c.graded and c.reason == "行业可比企业不足 5 家（现有 2 家）"
    c = codes.current_for(enterprise_id=nova.id, period_key="2026-01")
    assert not c.graded and "无工业增加值" in c.reason and c.grade is None


def test_min_peers_and_levels_are_configurable(energy_ref, make_ent, app):
    db = energy_ref
    few = [make_ent(50 + i, industry="2614") for i in range(2)]
    app.config["CECP_CODE_MIN_PEERS"] = 2
    try:
        _issue(db, [_emit(e, 100 * (i + 1), 100) for i, e in enumerate(few)], "set")
    finally:
        app.config.pop("CECP_CODE_MIN_PEERS")
    c = codes.current_for(enterprise_id=few[0].id, period_key="2026-01")
    assert c.graded and c.k_value == D("0.6667")


def test_signed_token_verifies_and_forgery_fails(client, energy_ref, make_ent):
    db = energy_ref
    ents = [make_ent(60 + i) for i in range(5)]
    _issue(db, [_emit(e, 100 + i, 100) for i, e in enumerate(ents)], "set")
    code = db.session.scalar(select(CarbonCode).where(CarbonCode.enterprise_id == ents[0].id,
                                                      CarbonCode.period_key == "2026-01"))
    token = codes.token_for(code)
    db.session.commit()
    page = client.get(f"/code/verify/{token}")
    assert page.status_code == 200 and "签名有效" in page.get_data(as_text=True)
    assert ents[0].name in page.get_data(as_text=True)
    api = client.get(f"/api/v1/codes/verify/{token}").get_json()
    assert api["valid"] and api["record"]["grade"] == code.grade
    body, sig = token.split(".")
    forged = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + sig
    assert client.get(f"/code/verify/{forged}").status_code == 400
    assert client.get(f"/api/v1/codes/verify/{forged}").status_code == 400
    png = codes.qr_png("http://x/code/verify/" + token)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
