"""One look, one language: security pages in the platform layout (one flash, no stray
menu), the administration area in the same frame with names instead of codes, English when
switched, numbers and Beijing time through the template filters."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tests.conftest import enrol_totp, login


def test_login_page_in_the_layout_with_one_flash_and_no_stray_menu(client, reference):
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'class="cecp-header"' in page and "cecp-auth" in page
    assert "菜单" not in page and "<menu>" not in page
    r = client.post("/auth/login", data={"email": "nobody@x.cn", "password": "wrong-pass-1"})
    body = r.get_data(as_text=True)
    assert body.count("fs-error-msg") + body.count('class="alert') >= 1
    assert body.count("flashes") == 0  # Flask-Security's own flash list is not rendered


def test_english_when_switched(client, reference):
    client.get("/lang/en")
    page = client.get("/auth/login").get_data(as_text=True)
    assert "Sign in to the Carbon Efficiency Code Platform" in page
    assert 'lang="en"' in page and "All times are Beijing time" in page


def test_admin_area_shares_the_header_and_shows_names(client, make_user, db):
    admin = make_user("admin")
    make_user("reviewer", region="330500")
    enrol_totp(admin)
    login(client, admin)
    users = client.get("/admin/users/").get_data(as_text=True)
    assert 'class="cecp-header"' in users and 'id="logout"' in users and "English" in users
    assert "&lt;Role" not in users and "<Role" not in users
    assert "政府审核员（初审）" in users and "政府部门" in users
    audit = client.get("/admin/audit/").get_data(as_text=True)
    assert "登录成功" in audit and "时间（北京时间）" in audit
    assert 'lang="zh-CN"' in audit


def test_filters_format_numbers_times_and_names(app, reference):
    from app.web import filters

    with app.test_request_context("/"):
        assert filters.num(Decimal("1234567.891")) == "1,234,567.89"
        assert filters.qty(Decimal("12.3456"), "tCO2") == "12.35 tCO2"
        assert filters.qty(None, "tCO2") == "—"
        assert filters.pct(Decimal("2.08"), 1, True) == "+2.1%"
        assert filters.bjtime(datetime(2026, 12, 5, 13, 4, 52, 655973)) == "2026-12-05 21:04"
        assert filters.region_name("330500") == "湖州市"
        assert filters.role_label("approver") == "政府审核员（终审）"
        assert filters.audit_action("login.failure") == "登录失败"
        assert filters.audit_action("energy_record.update") == "修改能耗数据"
        text = str(filters.summary_fields('{"ids": [1,2,3,4,5,6,7,8,9,10], "via": ["password"]}'))
        assert "等共 10 项" in text and "方式" in text
