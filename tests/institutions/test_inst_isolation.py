"""Tenant isolation on every new endpoint: another institution, an enterprise, a bank and a
government user of another region get 404 (reads) or 403/404 (writes); government users of
the region read but never write; nothing changes on a refused write."""

from __future__ import annotations

from sqlalchemy import func, select

from app.monitoring.models import InstitutionEnergy
from tests.conftest import login
from tests.institutions.conftest import fill_year, month

READS = ("/api/v1/institutions/PI-T-A", "/api/v1/institutions/PI-T-A/inventory",
         "/api/v1/institutions/PI-T-A/target", "/api/v1/institutions/PI-T-A/disclosures")
WRITES = (("post", "/api/v1/institutions/PI-T-A/energy", month(2025, 1, electricity=1)),
          ("put", "/api/v1/institutions/PI-T-A/target",
           {"metric": "co2", "base_year": 2024, "target_year": 2030, "reduction_pct": 10}),
          ("post", "/api/v1/institutions/PI-T-A/disclosures", {"year": 2024}),
          ("put", "/api/v1/institutions/PI-T-A/profiles/2024",
           {"persons": 100, "floor_area": 1000}))
PAGES = ("/institutions/PI-T-A", "/institutions/PI-T-A/energy", "/institutions/PI-T-A?year=2024")
PAGE_POSTS = ("/institutions/PI-T-A/energy", "/institutions/PI-T-A/import",
              "/institutions/PI-T-A/target", "/institutions/PI-T-A/disclosure",
              "/institutions/PI-T-A/profile")


def _count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(InstitutionEnergy))


def test_outsiders_get_nothing_from_the_api(client, world):
    db, h = world["db"], world["h"]
    fill_year(client, h["member_a"], "PI-T-A", 2024)
    before = _count(db)
    for who in ("member_b", "enterprise", "bank", "far_reviewer"):
        for url in READS:
            assert client.get(url, headers=h[who]).status_code == 404, (who, url)
        for method, url, body in WRITES:
            r = getattr(client, method)(url, json=body, headers=h[who])
            assert r.status_code in (403, 404), (who, url, r.status_code)
        listed = client.get("/api/v1/institutions", headers=h[who]).get_json()["items"]
        assert "PI-T-A" not in [i["code"] for i in listed], who
    for who in ("member_a", "member_b", "enterprise", "bank"):
        assert client.get("/api/v1/institutions/dashboard",
                          headers=h[who]).status_code == 403, who
    far = client.get("/api/v1/institutions/dashboard", headers=h["far_reviewer"]).get_json()
    assert far["rows"] == []
    assert _count(db) == before


def test_the_region_reads_but_never_writes(client, world):
    db, h = world["db"], world["h"]
    fill_year(client, h["member_a"], "PI-T-A", 2024)
    for url in READS:
        assert client.get(url, headers=h["reviewer"]).status_code == 200, url
    before = _count(db)
    for method, url, body in WRITES:
        r = getattr(client, method)(url, json=body, headers=h["reviewer"])
        assert r.status_code == 403, (url, r.status_code)
    assert _count(db) == before
    codes = [i["code"] for i in client.get("/api/v1/institutions",
                                           headers=h["reviewer"]).get_json()["items"]]
    assert codes == ["PI-T-A", "PI-T-B"]
    own = [i["code"] for i in client.get("/api/v1/institutions",
                                         headers=h["member_a"]).get_json()["items"]]
    assert own == ["PI-T-A"]


def test_outsiders_get_nothing_from_the_pages(app, world):
    for who in ("member_b", "enterprise", "bank", "far_reviewer"):
        c = app.test_client()
        login(c, world[who])
        for url in PAGES:
            assert c.get(url).status_code in (403, 404), (who, url)
        for url in PAGE_POSTS:
            assert c.post(url, data={}).status_code in (403, 404), (who, url)
    for who in ("member_b", "enterprise", "bank"):  # their own workspace or nothing
        c = app.test_client()
        login(c, world[who])
        r = c.get("/institutions/")
        assert r.status_code == 404 or r.headers["Location"].endswith("/institutions/PI-T-B")
    c = app.test_client()
    login(c, world["reviewer"])
    assert c.get("/institutions/PI-T-A").status_code == 200
    assert c.get("/institutions/PI-T-A/energy").status_code == 403
    for who in ("member_a", "enterprise", "bank"):
        c = app.test_client()
        login(c, world[who])
        assert c.get("/institutions/dashboard").status_code == 403, who


def test_anonymous_callers_see_only_published_disclosures(app, world):
    c = app.test_client()
    for url in READS + ("/api/v1/institutions/dashboard",):
        assert c.get(url).status_code == 401, url
    for url in PAGES + ("/institutions/dashboard",):
        assert c.get(url).status_code in (302, 401), url
    assert c.get("/api/v1/public/institutions/PI-T-A/disclosures").status_code == 404
    assert c.get("/disclosure/institutions/PI-T-A").status_code == 404
