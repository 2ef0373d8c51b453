"""The header's menus (issue 12): every registered navigation entry is placed in one group of
app.web.navigation.MENUS (a new page's entry must be given a place there); a group with one
visible entry is a plain link, larger ones are menus with aria-expanded buttons; no role sees
more than eight top-level entries. The browser side (one row, keyboard) is
tests/e2e/test_navigation.py."""

from __future__ import annotations

import re

import pytest

from tests.conftest import enrol_totp, login


def test_every_entry_has_a_group(app):
    from app.web.navigation import MENUS, NAV

    placed = [e for m in MENUS for e in m.endpoints]
    assert len(placed) == len(set(placed)), "an endpoint in two groups"
    missing = [i.endpoint for i in NAV if i.endpoint not in placed]
    assert missing == [], f"add these endpoints to a group of MENUS: {missing}"


@pytest.mark.parametrize("role", ["reviewer", "enterprise", "admin", "verifier"])
def test_menus_per_role(app, client, db, make_user, reference, role):
    from app.demo import DEMO_CITY, DEMO_VBODY, demo_enterprise_uscc

    scopes = {"reviewer": {"region": DEMO_CITY}, "verifier": {"verification_body": DEMO_VBODY},
              "enterprise": {"enterprise": demo_enterprise_uscc()}}.get(role, {})
    user = make_user(role, **scopes)
    if user.requires_two_factor():
        enrol_totp(user)
    login(client, user)
    for lang in ("zh", "en"):
        page = client.get(f"/?lang={lang}").get_data(as_text=True)
        header = page.split("</header>")[0]
        bar = header.split('class="cecp-menubar"')[1]
        top = re.findall(r'^        <li', bar, flags=re.M)
        assert 1 < len(top) <= 8, (role, lang, len(top))
        for key in re.findall(r'data-menu="(\w+)"', bar):
            assert f'id="menu-{key}"' in bar and 'aria-expanded="false"' in bar
            assert f'aria-controls="menu-{key}-list"' in bar
        assert "<script>" not in header and "<script nonce" not in header
    if role == "reviewer":
        assert 'id="menu-monitor"' in header and 'href="/monitoring/region"' in header
