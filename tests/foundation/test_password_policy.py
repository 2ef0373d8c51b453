"""R-5.2 password policy: length, classes, zxcvbn, e-mail name, history, expiry."""

from datetime import timedelta

import pytest

from app.db import utcnow
from app.identity import service as accounts
from tests.conftest import login


@pytest.mark.parametrize("password, fragment", [
    ("Sh0rt!", "10"),                           # too short
    ("alllowercaseletters", "3 类"),              # one class
    ("Correcthorsebattery", "3 类"),              # two classes
    ("Password1234!", "zxcvbn|容易|guess|常见|简单|弱|易被猜到"),  # weak by zxcvbn
    ("zhangsan#Qv82-lkd9", "邮箱用户名"),        # contains the e-mail name
])
def test_weak_passwords_are_refused(reference, password, fragment):
    import re

    with pytest.raises(accounts.AccountError) as exc:
        accounts.check_password(password, email="zhangsan@example.cn")
    assert re.search(fragment, exc.value.message, re.I), exc.value.message


def test_strong_password_is_accepted(reference):
    accounts.check_password("Qv82-lkd9#Tmw!", email="zhangsan@example.cn")


def _change(client, old, new):
    return client.post("/auth/change", data={"password": old, "new_password": new,
                                             "new_password_confirm": new})


def test_history_forbids_reusing_the_last_five(client, make_user, db):
    user = make_user("enterprise", password="Start#Pass2026xy")
    login(client, user, "Start#Pass2026xy")
    current = "Start#Pass2026xy"
    for i in range(5):
        new = f"Rotate#{i}Qv82-lkd9"
        r = _change(client, current, new)
        assert r.status_code in (200, 302)
        db.session.refresh(user)
        assert user.verify_and_update_password(new), f"change {i} did not apply"
        current = new
    r = _change(client, current, "Rotate#1Qv82-lkd9")
    assert "最近 5 次" in r.get_data(as_text=True)
    db.session.refresh(user)
    assert user.verify_and_update_password(current)


def test_expired_password_forces_a_change(client, make_user, db):
    user = make_user("enterprise")
    user.password_changed_at = utcnow() - timedelta(days=91)
    db.session.commit()
    login(client, user)
    r = client.get("/profile")
    assert r.status_code == 302 and "/auth/change" in r.headers["Location"]
    r = client.post("/api/v1/auth/token", json={"email": user.email,
                                                "password": "Strong#Pass2026x"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "password_expired"
    r = _change(client, "Strong#Pass2026x", "Fresh#Qv82-lkd9z")
    assert client.get("/profile").status_code == 200
