"""Helpers: a valid application body, and an organisation taken from application to active."""

from __future__ import annotations

import itertools

import pytest

from app.refdata.uscc import make_uscc

_SEQ = itertools.count(1)


def application_body(**over) -> dict:
    n = next(_SEQ)
    body = {"kind": "research", "name": f"浙江测试研究院{n}",
            "uscc": make_uscc(f"1233050{n:010d}"),
            "contact_name": "李研究", "contact_phone": "0572-1234567",
            "contact_email": f"contact{n}@org.cecp",
            "intended_use": "开展区域工业碳效研究，需要聚合去标识化数据。"}
    body.update(over)
    return body


@pytest.fixture()
def admin_headers(make_user, auth):
    return auth(make_user("admin"))


@pytest.fixture()
def onboard(client, admin_headers):
    """onboard(**fields) -> (application json, admin email, password): applied, approved,
    agreement accepted, administrator provisioned."""

    def _onboard(password: str = "Org#Admin-Pass-2026x", **over):
        body = application_body(**over)
        r = client.post("/api/v1/onboarding/applications", json=body)
        assert r.status_code == 201, r.get_json()
        uid = r.get_json()["id"]
        r = client.post(f"/api/v1/onboarding/applications/{uid}/decision",
                        json={"decision": "approve"}, headers=admin_headers)
        assert r.status_code == 200, r.get_json()
        token = r.get_json()["invitation_url"].rsplit("/", 1)[1]
        r = client.post(f"/api/v1/onboarding/invitations/{token}/accept",
                        json={"password": password, "accept_agreement": True})
        assert r.status_code == 201, r.get_json()
        return {"id": uid, **body}, body["contact_email"], password

    return _onboard
