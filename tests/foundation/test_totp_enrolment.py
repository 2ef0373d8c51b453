"""R-5.1 TOTP enrolment through the real pages, then recovery codes."""

import re

from passlib.totp import TOTP  # libpass, Flask-Security's TOTP implementation

from tests.conftest import login


def test_reviewer_enrols_totp_through_the_pages(client, make_user, db):
    user = make_user("reviewer", region="330500")
    r = login(client, user)
    assert "/auth/tf-setup" in r.headers["Location"]
    r = client.post("/auth/tf-setup", data={"setup": "authenticator"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "输入验证码以完成设置" in page and "双因素认证为您的账户增加一层安全保护" in page
    assert "腾讯身份验证器" in page and "阿里云" in page and "Microsoft Authenticator" in page
    key = re.search(r"<div[^>]*>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){7})</div>", page)
    assert key, "the setup page shows the authenticator key"
    code = TOTP(key=key.group(1).replace("-", ""), format="base32").generate().token
    r = client.post("/auth/tf-validate", data={"code": code})
    assert r.status_code == 302
    # enrolment leads straight to the recovery codes, whatever page comes next
    assert client.get(r.headers["Location"]).headers["Location"].endswith(
        "/auth/mf-recovery-codes")
    db.session.refresh(user)
    assert user.tf_primary_method == "authenticator"
    assert client.get("/profile").status_code == 200
    offer = client.get("/auth/mf-recovery-codes").get_data(as_text=True)
    assert 'id="recovery-offer"' in offer
    generated = client.post("/auth/mf-recovery-codes", data={"generate_new_codes": "1"},
                            follow_redirects=True).get_data(as_text=True)
    assert 'id="recovery-codes"' in generated
    db.session.refresh(user)
    assert user.mf_recovery_codes
