"""The enterprise factor library: grouped fits equal scipy's per-enterprise estimators,
set-based compute from real accounts, versions and origins, override / retire audited,
peer fallback, the API and page scoped to the caller."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sqlalchemy import select

from app.factors import fit as fitmod
from app.factors.fit import fit_groups, fit_one
from tests.conftest import login


def test_grouped_fit_equals_scipy_per_enterprise(monkeypatch):
    monkeypatch.setattr(fitmod, "PAIR_CHUNK", 300)  # many chunks
    rng = np.random.default_rng(7)
    sizes = rng.integers(3, 40, 60)
    g = np.repeat(np.arange(60), sizes)
    x = rng.uniform(100, 1000, g.size)
    y = 50 + 0.7 * x + rng.standard_t(2, g.size) * 30
    f = fit_groups(g, x, y, 60, min_months=3)
    for k in range(60):
        m = g == k
        ts = stats.theilslopes(y[m], x[m])
        ols = stats.linregress(x[m], y[m])
        assert f.slope[k] == pytest.approx(ts.slope)
        assert f.intercept[k] == pytest.approx(ts.intercept)
        assert (f.ci_low[k], f.ci_high[k]) == pytest.approx((ts.low_slope, ts.high_slope))
        assert f.ols_slope[k] == pytest.approx(ols.slope)
        assert f.ols_r2[k] == pytest.approx(ols.rvalue ** 2)


def test_quality_flags():
    rng = np.random.default_rng(3)
    x = rng.uniform(100, 1000, 24)
    # a break: the second year's factor triples
    y = np.where(np.arange(24) < 12, 0.3 * x, 0.9 * x) + rng.normal(0, 3, 24)
    assert "structural_break" in fit_one(x, y)["flags"]
    noisy = fit_one(x, rng.normal(500, 200, 24))
    assert "poor_fit" in noisy["flags"]
    few = fit_one(x[:8], 0.5 * x[:8])
    assert few["flags"] == ["too_few_months"] and np.isnan(few["slope"])
    clean = fit_one(x, 20 + 0.5 * x + rng.normal(0, 2, 24))
    assert clean["flags"] == [] and clean["slope"] == pytest.approx(0.5, abs=0.01)


def _accounts(db, ent):
    from app.accounting.models import CarbonAccount

    rows = db.session.execute(select(CarbonAccount.electricity_mwh, CarbonAccount.co2_total,
                                     CarbonAccount.co2_combustion)
                              .where(CarbonAccount.enterprise_id == ent.id,
                                     CarbonAccount.is_current.is_(True))
                              .order_by(CarbonAccount.period)).all()
    return np.array(rows, float)


def test_compute_from_accounts_set_based_and_idempotent(db, make_ent, history):
    from app.audit.models import AuditRecord
    from app.factors import library
    from app.factors.models import ElectricityFactor

    a, b, c = make_ent(1), make_ent(2), make_ent(3)
    history(a, seed=1, elec_only=(5, 17))
    history(b, seed=2, coal_per_mwh=0.2)
    history(c, months=6, seed=3)
    assert library.compute(region="330100").fitted == 0   # Hangzhou: none of them
    s = library.compute(region="330500")
    db.session.commit()
    assert (s.fitted, s.written) == (2, 2)
    assert s.skipped == {"too_few_months": [c.id]}
    fa = library.current(enterprise_id=a.id)
    # the oracle: scipy on the same accounts, electricity-only months left out
    acc = _accounts(db, a)
    full = acc[acc[:, 2] > 0]
    assert len(full) == 22 and fa.n_months == 22
    ts = stats.theilslopes(full[:, 1], full[:, 0])
    assert float(fa.slope) == pytest.approx(ts.slope, abs=1e-6)
    assert float(fa.ci_low) <= float(fa.slope) <= float(fa.ci_high)
    assert fa.origin == "computed" and fa.method == "theil_sen" and fa.version == 1
    assert (fa.period_from, fa.period_to) == (202301, 202412)
    assert fa.r2 > 0.9 and fa.flags == []
    # coal adds ~0.5 t × 1.86 tCO2/t per MWh on top of the grid factor
    assert float(library.current(enterprise_id=b.id).slope) < float(fa.slope)
    # unchanged data: nothing new written
    again = library.compute()
    db.session.commit()  # audit records are appended at commit
    assert (again.written, again.unchanged) == (0, 2)
    assert db.session.query(ElectricityFactor).count() == 2
    assert db.session.scalars(select(AuditRecord.action).where(
        AuditRecord.action == "factors.compute")).all() == ["factors.compute"] * 2


def test_override_retire_and_certified_are_kept(db, make_ent, history):
    from app.audit.models import AuditRecord
    from app.factors import library

    ent = make_ent(11)
    history(ent)
    library.compute()
    with pytest.raises(library.FactorError) as exc:
        library.override(enterprise=ent, slope="0.8", reason="")
    assert exc.value.field == "reason"
    with pytest.raises(library.FactorError) as exc:
        library.override(enterprise=ent, slope="abc", reason="实测报告 2024-03")
    assert exc.value.field == "slope"
    f = library.override(enterprise=ent, slope="0.8123", reason="实测报告 2024-03",
                         origin="measured")
    assert (f.version, f.origin, f.is_current) == (2, "measured", True)
    hist = library.history(enterprise_id=ent.id)
    assert [h.status for h in hist] == ["active", "superseded"]
    # a bulk recompute keeps the measured factor; the explicit recompute replaces it
    assert library.compute().kept == 1
    assert library.current(enterprise_id=ent.id).origin == "measured"
    g = library.recompute_one(enterprise=ent)
    assert (g.version, g.origin) == (3, "computed")
    library.retire(enterprise=ent, reason="企业改造停产")
    assert library.current(enterprise_id=ent.id) is None
    db.session.commit()
    actions = db.session.scalars(select(AuditRecord.action).where(
        AuditRecord.action.like("factors.%")).order_by(AuditRecord.seq)).all()
    assert "factors.override" in actions and actions[-1] == "factors.retire"


def test_recompute_names_the_enterprise_when_too_few_months(db, make_ent, history):
    from app.factors import library

    ent = make_ent(12, name="短历史企业")
    history(ent, months=5)
    with pytest.raises(library.FactorError) as exc:
        library.recompute_one(enterprise=ent)
    assert "短历史企业" in exc.value.message and "5 个月" in exc.value.message


def test_fallback_is_the_peer_median(db, make_ent, history):
    from app.factors import library

    peers = [make_ent(20 + i) for i in range(3)]
    for i, p in enumerate(peers):
        history(p, seed=10 + i, coal_per_mwh=0.2 + 0.1 * i)
    library.compute()
    slopes = sorted(float(library.current(enterprise_id=p.id).slope) for p in peers)
    newcomer = make_ent(30)
    fb = library.fallback(enterprise=newcomer)
    assert fb["n"] == 3 and fb["level"] == "province"
    assert fb["value"] == pytest.approx(slopes[1])
    assert library.fallback(enterprise=make_ent(31, industry="3211")) is None
    # a poor fit is no reference: two usable peers left, below the minimum of three
    library.current(enterprise_id=peers[0].id).flags = ["poor_fit"]
    db.session.flush()
    assert library.fallback(enterprise=newcomer) is None


def test_api_and_page_scoped_to_the_caller(client, db, make_ent, history, make_user, auth):
    from app.factors import library

    mine, other = make_ent(41), make_ent(42, region="330106")
    history(mine)
    history(other, seed=5)
    library.compute()
    db.session.commit()
    owner = make_user("enterprise", enterprise=mine.uscc)
    h = auth(owner)
    r = client.get(f"/api/v1/enterprises/{mine.uscc}/electricity-factor", headers=h)
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) >= {"value", "intercept", "r2", "n", "interval", "method", "origin",
                         "version"}
    assert body["origin"] == "computed" and body["n"] == 24 and body["version"] == 1
    assert client.get(f"/api/v1/enterprises/{other.uscc}/electricity-factor",
                      headers=h).status_code == 404
    reviewer = make_user("reviewer", region="330500")
    hr = auth(reviewer)
    assert client.get(f"/api/v1/enterprises/{mine.uscc}/electricity-factor",
                      headers=hr).status_code == 200
    assert client.get(f"/api/v1/enterprises/{other.uscc}/electricity-factor",
                      headers=hr).status_code == 404

    login(client, owner)
    page = client.get(f"/factors/enterprises/{mine.uscc}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="chart-scatter"' in html and "平台计算" in html and "btn-override" not in html
    assert client.get(f"/factors/enterprises/{other.uscc}").status_code == 404
    # an enterprise user may not change factors, even its own: refused and audited
    r = client.post(f"/factors/enterprises/{mine.uscc}/override",
                    data={"slope": "9", "reason": "想改就改"})
    assert r.status_code == 403
    assert library.current(enterprise_id=mine.id).origin == "computed"
    from app.audit.models import AuditRecord

    assert db.session.scalar(select(AuditRecord.action).where(
        AuditRecord.action == "factors.refused")) == "factors.refused"
    # nor write to another tenant's enterprise by forging the USCC
    assert client.post(f"/factors/enterprises/{other.uscc}/retire",
                       data={"reason": "伪造请求"}).status_code == 404


def test_manager_page_actions(client, db, make_ent, history, make_user):
    from tests.conftest import enrol_totp

    ent = make_ent(51)
    history(ent)
    approver = make_user("approver", region="330000")
    enrol_totp(approver)
    login(client, approver)
    r = client.post(f"/factors/enterprises/{ent.uscc}/recompute", follow_redirects=True)
    assert "已重新拟合：第 1 版" in r.get_data(as_text=True)
    r = client.post(f"/factors/enterprises/{ent.uscc}/override",
                    data={"slope": "", "reason": "按实测报告调整"}, follow_redirects=True)
    assert "因子值：必填" in r.get_data(as_text=True)
    r = client.post(f"/factors/enterprises/{ent.uscc}/override",
                    data={"slope": "1.05", "reason": "第三方实测报告", "origin": "measured"},
                    follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "已设定第 2 版（实测）" in html and 'id="history"' in html
    r = client.post(f"/factors/enterprises/{ent.uscc}/retire", data={"reason": "企业已关停"},
                    follow_redirects=True)
    assert "已停用第 2 版" in r.get_data(as_text=True)
    page = client.get("/factors").get_data(as_text=True)
    assert ent.name in page
