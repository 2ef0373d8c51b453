"""R-5.3 data scope: every list and detail is narrowed to the caller's regions/enterprises."""

import pytest

from app.identity.scope import DataScope, region_prefix, scoped_select
from app.orgs.models import Enterprise, Region
from tests.conftest import login

HZ_ENT = "91330522MA2B00000M"   # Huzhou (city 330500) enterprise
HZ2_ENT = "91330502MA2B00000N"
HG_ENT = "91330100MA2B000005"   # Hangzhou (330100)


@pytest.fixture()
def enterprises(reference):
    db = reference
    for code, name, level, parent in (("330502", "吴兴区", "county", "330500"),):
        if db.session.get(Region, code) is None:
            db.session.add(Region(code=code, name=name, level=level, parent_code=parent))
    db.session.flush()
    for uscc, name, region in ((HZ_ENT, "长兴甲企业", "330522"), (HZ2_ENT, "吴兴乙企业", "330502"),
                               (HG_ENT, "杭州丙企业", "330100")):
        db.session.add(Enterprise(uscc=uscc, name=name, region_code=region))
    db.session.commit()


def test_region_prefix():
    assert region_prefix("330000") == "33"
    assert region_prefix("330500") == "3305"
    assert region_prefix("330522") == "330522"


def _usccs(scope):
    from app.extensions import db

    return sorted(e.uscc for e in db.session.scalars(scoped_select(Enterprise, scope)))


def test_scope_clause_semantics(enterprises):
    assert _usccs(DataScope(region=("330000",))) == sorted([HZ_ENT, HZ2_ENT, HG_ENT])
    assert _usccs(DataScope(region=("330500",))) == sorted([HZ_ENT, HZ2_ENT])
    assert _usccs(DataScope(enterprise=(HG_ENT,))) == [HG_ENT]
    assert _usccs(DataScope()) == []
    assert len(_usccs(DataScope(all=True))) == 3


def test_enterprise_user_gets_404_for_another_enterprise(client, make_user, auth, enterprises):
    user = make_user("enterprise", enterprise=HZ_ENT)
    headers = auth(user)
    assert client.get(f"/api/v1/enterprises/{HZ_ENT}", headers=headers).status_code == 200
    r = client.get(f"/api/v1/enterprises/{HG_ENT}", headers=headers)
    assert r.status_code == 404 and "error" in r.get_json()
    listed = client.get("/api/v1/enterprises", headers=headers).get_json()
    assert [e["uscc"] for e in listed] == [HZ_ENT]


def test_city_reviewer_sees_only_its_city(client, make_user, auth, enterprises):
    user = make_user("reviewer", region="330500")
    headers = auth(user)
    listed = client.get("/api/v1/enterprises", headers=headers).get_json()
    assert sorted(e["uscc"] for e in listed) == sorted([HZ_ENT, HZ2_ENT])
    assert client.get(f"/api/v1/enterprises/{HG_ENT}", headers=headers).status_code == 404


def test_province_reviewer_sees_all_its_cities(client, make_user, auth, enterprises):
    user = make_user("approver", region="330000")
    listed = client.get("/api/v1/enterprises", headers=auth(user)).get_json()
    assert sorted(e["uscc"] for e in listed) == sorted([HZ_ENT, HZ2_ENT, HG_ENT])


def test_anonymous_gets_only_public_pages(client, enterprises):
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/enterprises").status_code == 401
    assert client.get(f"/api/v1/enterprises/{HZ_ENT}").status_code == 401
    r = client.get("/profile")
    assert r.status_code == 302 and "/auth/login" in r.headers["Location"]
    r = client.get("/admin/")
    assert r.status_code == 302 and "/auth/login" in r.headers["Location"]


def test_non_admin_cannot_open_admin(client, make_user, enterprises):
    user = make_user("enterprise", enterprise=HZ_ENT)
    login(client, user)
    for path in ("/admin/", "/admin/users/", "/admin/audit/", "/admin/audit_search/"):
        assert client.get(path).status_code == 403, path
