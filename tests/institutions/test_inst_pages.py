"""Browser-free page tests: the workspace, entry form, dashboard and public pages render in
Chinese with units and thousands separators; the dashboard ranks and flags targets at risk."""

from __future__ import annotations

from tests.conftest import login
from tests.institutions.conftest import fill_year


def test_workspace_and_dashboard_pages(app, client, world):
    h = world["h"]
    fill_year(client, h["member_a"], "PI-T-A", 2020, electricity=2000, gas=1)
    fill_year(client, h["member_a"], "PI-T-A", 2025, electricity=1800, gas=1)
    fill_year(client, h["member_b"], "PI-T-B", 2020, electricity=100, gas=0)
    fill_year(client, h["member_b"], "PI-T-B", 2025, electricity=60, gas=0)   # −40 %
    for who, code, pct in (("member_a", "PI-T-A", 40), ("member_b", "PI-T-B", 20)):
        r = client.put(f"/api/v1/institutions/{code}/target", headers=h[who], json={
            "metric": "co2", "base_year": 2020, "target_year": 2030, "reduction_pct": pct})
        assert r.status_code == 200, r.get_json()
    c = app.test_client()
    login(c, world["member_a"])
    assert c.get("/institutions/").headers["Location"].endswith("/institutions/PI-T-A")
    text = c.get("/institutions/PI-T-A?year=2025").get_data(as_text=True)
    assert "范围一" in text and "范围二" in text and "吨 CO2" in text and "吨标准煤" in text
    # 12 × 1,800 MWh × 0.4974 = 10,743.840 t, shown with separators
    assert "10,743.840" in text
    assert "目标风险" in text  # −17.1 % against a line asking for 40 % × 5/10 = 20 %
    assert "计算过程" in text and "公告" in text
    c = app.test_client()
    login(c, world["reviewer"])
    assert c.get("/institutions/").headers["Location"].endswith("/institutions/dashboard")
    page = c.get("/institutions/dashboard")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "公共机构节能降碳监管" in text and "vendor/echarts/echarts.min" in text
    assert text.index("测试县人民医院") < text.index("测试市第一中学")  # ranked by reduction
    data = client.get("/api/v1/institutions/dashboard", headers=h["reviewer"]).get_json()
    assert [(r["code"], r["rank"], r["status"]) for r in data["rows"]] == [
        ("PI-T-B", 1, "achieved"), ("PI-T-A", 2, "at_risk")]
    assert [r["code"] for r in data["at_risk"]] == ["PI-T-A"]
    # each year priced with its own dated factor: 2020 by the earliest published (2021,
    # 0.5422), 2025 by the latest (2023, 0.4974): a month of 2020 is 2,000 × 0.5422 +
    # 21.621888 = 1,106.021888 t, of 2025 1,800 × 0.4974 + 21.621888 = 916.941888 t;
    # (1,106.021888 − 916.941888) / 1,106.021888 = 17.0955… % → 17.10 (below the 20 % due)
    assert data["rows"][1]["reduction_pct"] == "17.10"
    assert data["rows"][1]["expected_pct"] == "20.00"
